from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.pagination import newest_first
from skypanel.models import Organization, Wallet


async def organizations_page(
    session: AsyncSession, *, search: str | None, cursor: str | None, limit: int
) -> Sequence[tuple[Organization, Wallet | None]]:
    query = select(Organization, Wallet).outerjoin(
        Wallet, Wallet.organization_id == Organization.id
    )
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(Organization.name.ilike(pattern), Organization.slug.like(pattern)))
    query = newest_first(
        query, Organization.created_at, Organization.id, cursor=cursor, limit=limit
    )
    return [(org, wallet) for org, wallet in await session.execute(query)]
