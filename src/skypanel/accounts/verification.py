"""Proving an address: the verification link sent on registration, and email changes, which take
effect only once the new address confirms. Until an account is verified it may sign in and look
around, but not pay or deploy (`require_verified`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository, tokens
from skypanel.accounts.errors import EmailTaken, WrongPassword
from skypanel.accounts.security import verify_password
from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from skypanel.models import User
from skypanel.notices import service as notices

HOURS = int(tokens.VERIFICATION_TTL.total_seconds() // 3600)


class EmailNotVerified(Forbidden):
    code = "EMAIL_NOT_VERIFIED"


class AlreadyVerified(Conflict):
    code = "ALREADY_VERIFIED"


class EmailUnchanged(InvalidInput):
    code = "EMAIL_UNCHANGED"


def require_verified(user: User, settings: Settings) -> None:
    """Refuse what needs a proven address (paying, deploying) to an unverified account, unless
    the panel does not ask for it (`SKYPANEL_REQUIRE_VERIFIED_EMAIL=false`)."""
    if settings.require_verified_email and user.email_verified_at is None:
        raise EmailNotVerified(
            f"Confirm your email address first: follow the link we sent to {user.email}",
            field="email",
        )


async def send_verification(session: AsyncSession, user: User) -> None:
    """Email `user` a link that confirms their address (48 hours)."""
    stored, token = await tokens.issue(
        session, user.id, "email_verification", tokens.VERIFICATION_TTL
    )
    await notices.emit(
        session,
        "account.email_verification",
        dedupe_key=f"account.email_verification:{stored.id}",
        user_id=user.id,
        data={"email": user.email, "hours": HOURS, "token": token},
    )


async def resend_verification(session: AsyncSession, user: User) -> None:
    stored = await _reload(session, user)
    if stored.email_verified_at is not None:
        raise AlreadyVerified("Your email address is already confirmed")
    await tokens.retire(session, stored.id, "email_verification")
    await send_verification(session, stored)


async def request_email_change(
    session: AsyncSession, user: User, *, new_email: str, password: str
) -> None:
    """Send a confirmation link to `new_email`; the address changes once it is followed."""
    stored = await _reload(session, user)
    new_email = new_email.strip().lower()
    if not await verify_password(stored.password_hash, password):
        raise WrongPassword("The password is wrong", field="password")
    if new_email == stored.email:
        raise EmailUnchanged("This is already your email address", field="newEmail")
    if await repository.by_email(session, new_email) is not None:
        raise EmailTaken("An account with this email already exists", field="newEmail")
    await tokens.retire(session, stored.id, "email_change")
    change, token = await tokens.issue(
        session, stored.id, "email_change", tokens.VERIFICATION_TTL, new_email=new_email
    )
    await notices.emit(
        session,
        "account.email_change",
        dedupe_key=f"account.email_change:{change.id}",
        user_id=stored.id,
        address=new_email,
        data={"new_email": new_email, "old_email": stored.email, "hours": HOURS, "token": token},
    )


async def verify_email(session: AsyncSession, token: str) -> User:
    """Follow a verification or email-change link: the address is confirmed (or becomes the
    account's new one, confirmed)."""
    link = await tokens.use(session, token, "email_verification", "email_change")
    user = await repository.get(session, link.user_id)
    if user is None or not user.is_active:
        raise tokens.LinkInvalid("The account of this link no longer exists", field="token")
    now = clock.now()
    if link.new_email is not None:
        if await repository.by_email(session, link.new_email) is not None:
            raise EmailTaken("Another account took this address meanwhile", field="token")
        previous, user.email = user.email, link.new_email
        await tokens.retire(session, user.id, "email_verification")
        await record(
            session,
            "auth.email_change",
            f"{previous} now signs in as {user.email}",
            user_id=user.id,
        )
    elif user.email_verified_at is None:
        await record(session, "auth.email_verified", f"{user.email} confirmed", user_id=user.id)
    user.email_verified_at = (
        user.email_verified_at
        if link.new_email is None and (user.email_verified_at is not None)
        else now
    )
    return user


async def _reload(session: AsyncSession, user: User) -> User:
    stored = await repository.get(session, user.id)
    if stored is None:
        raise NotFound("The account no longer exists")
    return stored
