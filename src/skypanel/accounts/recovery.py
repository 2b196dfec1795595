"""Password reset by email: a link that works once, for 30 minutes, and ends every sign-in."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository, tokens
from skypanel.accounts.security import hash_password
from skypanel.accounts.service import end_sessions
from skypanel.activity.service import record
from skypanel.kit import clock
from skypanel.models import User
from skypanel.notices import service as notices

MINUTES = int(tokens.PASSWORD_RESET_TTL.total_seconds() // 60)
REQUESTED = "If an account uses this address, a link to choose a new password is on its way."
"""The one answer to a reset request, whether or not the address has an account."""


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """Email the account of `email`, if there is one, a reset link. The same work happens up to
    the lookup's answer, and the email is queued for after the commit, so neither the answer
    nor its timing tells whether the address has an account."""
    user = await repository.by_email(session, email.strip())
    token, token_hash = tokens.new_token()
    if user is None or not user.is_active:
        return
    stored = await tokens.store(
        session, user.id, "password_reset", tokens.PASSWORD_RESET_TTL, token_hash
    )
    await notices.emit(
        session,
        "account.password_reset",
        dedupe_key=f"account.password_reset:{stored.id}",
        user_id=user.id,
        data={"email": user.email, "minutes": MINUTES, "token": token},
    )


async def reset_password(session: AsyncSession, token: str, password: str) -> User:
    """Set a new password from a reset link; every sign-in of the account ends, and every other
    reset link stops working. Following the link also proves the address."""
    link = await tokens.use(session, token, "password_reset")
    user = await repository.get(session, link.user_id)
    if user is None or not user.is_active:
        raise tokens.LinkInvalid("The account of this link no longer exists", field="token")
    user.password_hash = await hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    await tokens.retire(session, user.id, "password_reset")
    await end_sessions(session, user)
    await record(
        session, "auth.password_reset", f"{user.email} reset the password", user_id=user.id
    )
    return user
