from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.pagination import newest_first
from skypanel.kit.tenancy import scoped
from skypanel.models import ActivityLog


async def page(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> Sequence[ActivityLog]:
    """Newest first; `event_type` matches exactly or as a dotted prefix (`container.billing`)."""
    query = select(ActivityLog)
    if organization_id is not None:
        query = scoped(query, ActivityLog, organization_id)
    if event_type:
        query = query.where(
            (ActivityLog.event_type == event_type)
            | ActivityLog.event_type.startswith(f"{event_type}.", autoescape=True)
        )
    if since:
        query = query.where(ActivityLog.created_at >= since)
    if until:
        query = query.where(ActivityLog.created_at < until)
    query = newest_first(query, ActivityLog.created_at, ActivityLog.id, cursor=cursor, limit=limit)
    return (await session.scalars(query)).all()
