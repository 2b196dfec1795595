"""The bell (a person's notifications), email preferences, and the admins' view of the outbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from skypanel.accounts.auth import AdminUser, CurrentUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, newest_first, page_of
from skypanel.models import OutboxMessage
from skypanel.notices import service
from skypanel.notices.kinds import KINDS
from skypanel.notices.schemas import (
    NotificationOut,
    NotificationPage,
    OutboxOut,
    OutboxPage,
    PreferencesIn,
    PreferencesOut,
)

router = APIRouter(tags=["notifications"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/api/notifications", response_model=NotificationPage, responses=responses(401, 422))
async def list_notifications(
    user: CurrentUser,
    session: Session,
    unread: bool = False,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> NotificationPage:
    """The caller's notifications, newest first, with how many are unread."""
    rows = await service.of_user(session, user.id, unread=unread, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, limit)
    return NotificationPage(
        items=[NotificationOut.model_validate(row) for row in items],
        next_cursor=next_cursor,
        unread=await service.unread_count(session, user.id),
    )


@router.post(
    "/api/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 404),
)
async def mark_read(notification_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    await service.mark_read(session, user.id, notification_id)


@router.post(
    "/api/notifications/read-all", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401)
)
async def mark_all_read(user: CurrentUser, session: Session) -> None:
    await service.mark_all_read(session, user.id)


@router.get(
    "/api/notifications/preferences", response_model=PreferencesOut, responses=responses(401)
)
async def get_preferences(user: CurrentUser, session: Session) -> PreferencesOut:
    """Email on or off per category (messages in the panel are always kept)."""
    return PreferencesOut.model_validate(await service.preferences(session, user.id))


@router.put(
    "/api/notifications/preferences",
    response_model=PreferencesOut,
    responses=responses(401, 422),
)
async def put_preferences(
    body: PreferencesIn, user: CurrentUser, session: Session
) -> PreferencesOut:
    """Only the categories sent change. Security and billing-critical messages (a failed
    renewal, a suspension, a termination, a password reset) are sent whatever is chosen."""
    chosen = {k: v for k, v in body.model_dump().items() if v is not None}
    return PreferencesOut.model_validate(await service.save_preferences(session, user.id, chosen))


@router.get("/api/admin/outbox", response_model=OutboxPage, responses=responses(401, 403, 422))
async def list_outbox(
    _: AdminUser,
    session: Session,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> OutboxPage:
    """Every email, newest first (what the demo's SMTP catcher received, and why one failed)."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    query = newest_first(
        query, OutboxMessage.created_at, OutboxMessage.id, cursor=cursor, limit=limit
    )
    items, next_cursor = page_of((await session.scalars(query)).all(), limit)
    return OutboxPage(items=[_outbox(row) for row in items], next_cursor=next_cursor)


def _outbox(row: OutboxMessage) -> OutboxOut:
    kind = KINDS[row.template]
    return OutboxOut(
        id=row.id,
        recipient=row.recipient,
        template=row.template,
        subject=service.words(kind.subject, row.data),
        body=service.words(kind.body, row.data),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )
