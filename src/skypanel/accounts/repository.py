from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import RefreshToken, SignInFailure, User


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def by_email(session: AsyncSession, email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.email == email.lower())
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def refresh_by_hash(
    session: AsyncSession, token_hash: str, *, lock: bool = True
) -> RefreshToken | None:
    """The refresh token, locked for a refresh or a sign-out; `lock=False` to check a sign-in."""
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return await session.scalar(query.with_for_update() if lock else query)


async def sign_in_failure(
    session: AsyncSession, user_id: uuid.UUID, address: str
) -> SignInFailure | None:
    return await session.get(SignInFailure, (user_id, address), with_for_update=True)


async def forget_failures(session: AsyncSession, user_id: uuid.UUID, address: str) -> None:
    await session.execute(
        delete(SignInFailure).where(
            SignInFailure.user_id == user_id, SignInFailure.address == address
        )
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_all(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
