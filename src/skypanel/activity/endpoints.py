from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from skypanel.accounts.auth import AdminUser
from skypanel.activity import repository
from skypanel.activity.schemas import ActivityOut, ActivityPage
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.http.params import Instant
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.organizations.auth import CurrentOrg

router = APIRouter(tags=["activity"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


async def _page(
    session: Session,
    organization_id: uuid.UUID | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> ActivityPage:
    rows = await repository.page(
        session,
        organization_id=organization_id,
        event_type=event_type,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return ActivityPage(
        items=[ActivityOut.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.get("/api/activity", response_model=ActivityPage, responses=responses(401, 404, 422))
async def list_activity(
    org: CurrentOrg,
    session: Session,
    type: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ActivityPage:
    """The acting organization's activity, newest first."""
    return await _page(session, org.id, type, since, until, cursor, limit)


@router.get("/api/admin/activity", response_model=ActivityPage, responses=responses(401, 403, 422))
async def list_all_activity(
    _: AdminUser,
    session: Session,
    organization_id: Annotated[uuid.UUID | None, Query(alias="organizationId")] = None,
    type: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ActivityPage:
    """Every organization's activity (admins), optionally for one organization."""
    return await _page(session, organization_id, type, since, until, cursor, limit)
