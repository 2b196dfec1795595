from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import clock
from skypanel.kit.context import current_request
from skypanel.models import ActivityLog


async def record(
    session: AsyncSession,
    event_type: str,
    message: str,
    *,
    organization_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    status: str = "success",
    metadata: dict[str, Any] | None = None,
) -> ActivityLog:
    """Add an activity entry to the current unit of work; it commits (or not) with the change."""
    entry = ActivityLog(
        **activity_values(
            event_type,
            message,
            organization_id=organization_id,
            user_id=user_id,
            entity_type=entity_type,
            entity_id=entity_id,
            status=status,
            metadata=metadata,
        )
    )
    session.add(entry)
    return entry


def activity_values(
    event_type: str,
    message: str,
    *,
    organization_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    status: str = "success",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of an activity entry, for bulk inserts (billing runs write thousands)."""
    ctx = current_request()
    return dict(
        id=uuid.uuid4(),
        event_type=event_type,
        message=message,
        organization_id=organization_id,
        user_id=user_id,
        entity_type=entity_type,
        entity_id=entity_id,
        status=status,
        metadata_=metadata or {},
        ip_address=ctx.ip_address if ctx else None,
        user_agent=ctx.user_agent if ctx else None,
        request_id=ctx.request_id if ctx else None,
        created_at=clock.now(),
    )
