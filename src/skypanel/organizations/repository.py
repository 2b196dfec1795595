from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import Membership, Organization, User


async def membership(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Organization, Membership] | None:
    row = (
        await session.execute(
            select(Organization, Membership)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Organization.id == organization_id, Membership.user_id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def first_membership(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[Organization, Membership] | None:
    row = (
        await session.execute(
            select(Organization, Membership)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at, Membership.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def memberships_of(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[Organization, Membership]]:
    rows = await session.execute(
        select(Organization, Membership)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Membership.id)
    )
    return [(org, member) for org, member in rows]


async def members(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.created_at, Membership.id)
    )
    return [(member, user) for member, user in rows]


async def member_for_update(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.scalar(
        select(Membership)
        .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        .with_for_update()
    )


async def lock_members(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[Membership]:
    """Serialise membership changes of one organization (role changes, ownership transfer)."""
    return (
        await session.scalars(
            select(Membership)
            .where(Membership.organization_id == organization_id)
            .order_by(Membership.id)
            .with_for_update()
        )
    ).all()


async def slugs_like(session: AsyncSession, base: str) -> set[str]:
    rows = await session.scalars(
        select(Organization.slug).where(Organization.slug.startswith(base, autoescape=True))
    )
    return set(rows)
