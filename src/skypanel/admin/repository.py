from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.pagination import Page, match_page, newest_page, searchable
from skypanel.models import Organization, User, Wallet


async def users_page(
    session: AsyncSession, *, search: str | None, cursor: str | None, limit: int
) -> Page:
    """Rows (user,), newest first; with a search, the users whose email or name starts with it,
    in the order of what matched."""
    query = select(User)
    if search:
        keys = [searchable(User.email), searchable(func.lower(User.name))]
        return await match_page(
            session, query, keys, User.id, search=search, cursor=cursor, limit=limit
        )
    return await newest_page(session, query, User.created_at, User.id, cursor=cursor, limit=limit)


async def organizations_page(
    session: AsyncSession, *, search: str | None, cursor: str | None, limit: int
) -> Page:
    """Rows (organization, wallet), as `users_page` (a search matches the name or the slug)."""
    query = select(Organization, Wallet).outerjoin(
        Wallet, Wallet.organization_id == Organization.id
    )
    if search:
        keys = [searchable(func.lower(Organization.name)), searchable(Organization.slug)]
        return await match_page(
            session, query, keys, Organization.id, search=search, cursor=cursor, limit=limit
        )
    return await newest_page(
        session, query, Organization.created_at, Organization.id, cursor=cursor, limit=limit
    )
