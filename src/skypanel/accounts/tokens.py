"""The links sent by email: a random token in the link, only its SHA-256 in the database, each
working once and for a while. Using one marks it used in the transaction of its effect, so a
rollback leaves it usable and two concurrent uses cannot both succeed (the row is locked)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import clock
from skypanel.kit.errors import AppError
from skypanel.models.accounts import AccountToken

PASSWORD_RESET_TTL = timedelta(minutes=30)
VERIFICATION_TTL = timedelta(hours=48)
INVITATION_TTL = timedelta(days=7)


class LinkInvalid(AppError):
    code = "LINK_INVALID"
    status = 400


class LinkUsed(AppError):
    code = "LINK_USED"
    status = 410


class LinkExpired(AppError):
    code = "LINK_EXPIRED"
    status = 410


def new_token() -> tuple[str, str]:
    """A fresh token for a link and the SHA-256 under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_usable(used_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    """Refuse a link that was used or has expired, in words that say which."""
    if used_at is not None:
        raise LinkUsed("This link was already used; ask for a new one", field="token")
    if expires_at <= now:
        raise LinkExpired("This link has expired; ask for a new one", field="token")


async def issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    ttl: timedelta,
    *,
    new_email: str | None = None,
) -> tuple[AccountToken, str]:
    """A new link for `purpose`; returns its row and the token to put in the email."""
    token, token_hash = new_token()
    return await store(session, user_id, purpose, ttl, token_hash, new_email=new_email), token


async def store(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    ttl: timedelta,
    token_hash: str,
    *,
    new_email: str | None = None,
) -> AccountToken:
    """Keep the hash of a link's token, valid for `ttl` from now."""
    stored = AccountToken(
        id=uuid.uuid4(),
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash,
        new_email=new_email,
        expires_at=clock.now() + ttl,
    )
    session.add(stored)
    await session.flush()
    return stored


async def use(session: AsyncSession, token: str, *purposes: str) -> AccountToken:
    """The link's row, locked and marked used now; refused when unknown, used or expired."""
    now = clock.now()
    stored = await session.scalar(
        select(AccountToken)
        .where(AccountToken.token_hash == hash_token(token), AccountToken.purpose.in_(purposes))
        .with_for_update()
    )
    if stored is None:
        raise LinkInvalid("This link is not valid; check that it was copied whole", field="token")
    check_usable(stored.used_at, stored.expires_at, now)
    stored.used_at = now
    return stored


async def retire(session: AsyncSession, user_id: uuid.UUID, purpose: str) -> None:
    """Every unused link of the user for `purpose` stops working (a newer one took effect)."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=clock.now())
    )
