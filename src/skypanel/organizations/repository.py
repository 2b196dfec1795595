from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import Membership, Organization, User

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def acting(
    query: Q,
    user_id: uuid.UUID | ColumnElement[uuid.UUID],
    organization_id: uuid.UUID | ColumnElement[uuid.UUID] | None = None,
) -> Q:
    """The one membership a user acts through, as a query over memberships joined to their
    organizations: the one in `organization_id`, or else the user's first by joining order.
    `skypanel.organizations.auth` and the cold reads (`skypanel.organizations.cold`) both ask
    it this way. `LIMIT 1` is literal so that a prepared statement keeps one generic plan."""
    query = query.join_from(Membership, Organization, Membership.organization_id == Organization.id)
    query = query.where(Membership.user_id == user_id)
    if organization_id is not None:
        query = query.where(Membership.organization_id == organization_id)
    return query.order_by(Membership.created_at, Membership.id).limit(literal_column("1"))


async def membership(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Organization, Membership] | None:
    row = (
        await session.execute(acting(select(Organization, Membership), user_id, organization_id))
    ).first()
    return (row[0], row[1]) if row else None


async def first_membership(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[Organization, Membership] | None:
    row = (await session.execute(acting(select(Organization, Membership), user_id))).first()
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
