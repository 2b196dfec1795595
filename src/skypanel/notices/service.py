"""Writing events and their messages, and reading them back.

`emit` runs in the transaction of the change it reports: the event (once per `dedupe_key`, so a
retried or repeated step tells nobody twice), a message in the panel for each person concerned,
and an email in the outbox for each of them whose preferences allow it (critical kinds are always
emailed). The worker sends the emails once the transaction has committed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import bulk, clock, uow
from skypanel.kit.errors import NotFound
from skypanel.kit.pagination import newest_first
from skypanel.models import (
    Event,
    Membership,
    Notification,
    NotificationPreference,
    OutboxMessage,
    User,
)
from skypanel.notices import webhooks
from skypanel.notices.kinds import KINDS, Kind

WORDS = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
"""Renders a kind's subject, body and link from the event's data (plain text: the email's HTML
layout escapes what it inserts)."""

OPTIONAL = ("billing", "services", "account")
"""The categories a person may turn email off for; security messages always go out."""


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"


@lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    return WORDS.from_string(template)


def words(template: str, data: dict[str, Any]) -> str:
    return _compiled(template).render(**data)


async def emit(
    session: AsyncSession,
    type: str,
    *,
    dedupe_key: str,
    data: dict[str, Any],
    organization_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    address: str | None = None,
) -> Event | None:
    """Record that `type` happened, with its messages; `None` when it was recorded before."""
    kind = KINDS[type]
    kept = {k: v for k, v in data.items() if k != "token"} if kind.secret else data
    event_id = await session.scalar(
        insert(Event)
        .values(
            id=uuid.uuid4(),
            type=type,
            organization_id=organization_id,
            user_id=user_id,
            data=kept,
            dedupe_key=dedupe_key,
            occurred_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Event.id)
    )
    if event_id is None:
        return None
    event = await session.get(Event, event_id)
    assert event is not None
    people = await _recipients(session, kind, organization_id, user_id)
    wanted = await _wanting_email(session, kind, [person.id for person in people])
    for person in people:
        if not kind.secret:
            session.add(Notification(**_notification(kind, event, person.id)))
        if person.id in wanted:
            session.add(OutboxMessage(**_email(kind, event, data, person.email, person.id)))
    if kind.audience == "address":
        assert address is not None, f"{type} goes to an address"
        session.add(OutboxMessage(**_email(kind, event, data, address, None)))
    await session.flush()
    await webhooks.queue(session, event)
    uow.send_mail(session)
    return event


@dataclass(frozen=True, slots=True)
class Fact:
    """A fact to write as an event: for the webhooks only (`record`), or also told to the
    organization's managers (`tell`)."""

    type: str
    dedupe_key: str
    data: dict[str, Any]
    organization_id: uuid.UUID | None = None


async def record(session: AsyncSession, facts: Sequence[Fact]) -> int:
    """Write the facts as events (once each per `dedupe_key`) and queue them for the webhook
    endpoints that want them: a few statements for a whole batch (the billing run's renewals).
    Returns how many were new."""
    written = await _written(session, facts)
    await webhooks.queue_many(session, written)
    return len(written)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as a batch wrote it (not loaded back: a billing run writes thousands)."""

    id: uuid.UUID
    type: str
    organization_id: uuid.UUID | None
    data: dict[str, Any]
    occurred_at: datetime


async def _written(session: AsyncSession, facts: Sequence[Fact]) -> list[Recorded]:
    """The facts as events, in one statement; those recorded before are left out."""
    if not facts:
        return []
    now = clock.now()
    events = [Recorded(uuid.uuid4(), f.type, f.organization_id, f.data, now) for f in facts]
    rows = [
        {
            "id": event.id,
            "type": event.type,
            "organization_id": event.organization_id,
            "data": event.data,
            "dedupe_key": fact.dedupe_key,
            "occurred_at": now,
        }
        for event, fact in zip(events, facts, strict=True)
    ]
    new = await bulk.insert_new(session, Event, rows, unique=("dedupe_key",))
    return [event for event in events if event.id in new]


async def tell(session: AsyncSession, facts: Sequence[Fact]) -> int:
    """`emit` for many facts told to organizations' managers at once (the billing run's
    renewals): the events, their recipients, their preferences, the panel's messages and the
    emails each in one statement. Returns how many were new."""
    written = await _written(session, facts)
    if not written:
        return 0
    managers = await _managers(session, {event.organization_id for event in written})
    refusals = await _refusals(
        session, {user_id for people in managers.values() for user_id, _ in people}
    )
    notifications, emails = [], []
    for event in written:
        kind = KINDS[event.type]
        assert kind.audience == "managers", f"{event.type} is not told to managers: use emit"
        assert not kind.secret, f"{event.type} carries a one-time link: use emit"
        assert event.organization_id is not None
        for user_id, email in managers.get(event.organization_id, []):
            notifications.append(_notification(kind, event, user_id))
            if kind.critical or (user_id, kind.category) not in refusals:
                emails.append(_email(kind, event, event.data, email, user_id))
    await bulk.insert_rows(session, Notification, notifications)
    await bulk.insert_rows(session, OutboxMessage, emails)
    await webhooks.queue_many(session, written)
    if emails:
        uow.send_mail(session)
    return len(written)


async def _refusals(session: AsyncSession, user_ids: set[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """Who turned email off for which category."""
    if not user_ids:
        return set()
    rows = await session.execute(
        select(NotificationPreference.user_id, NotificationPreference.category).where(
            NotificationPreference.user_id.in_(user_ids),
            NotificationPreference.email.is_(False),
        )
    )
    return {(user_id, category) for user_id, category in rows}


async def _managers(
    session: AsyncSession, organization_ids: set[uuid.UUID | None]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """Each organization's active owners and admins: (user id, email), oldest first."""
    rows = await session.execute(
        select(Membership.organization_id, User.id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id.in_(organization_ids - {None}),
            Membership.role.in_(("owner", "admin")),
            User.is_active.is_(True),
        )
        .order_by(User.created_at)
    )
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for organization_id, user_id, email in rows:
        found.setdefault(organization_id, []).append((user_id, email))
    return found


async def _recipients(
    session: AsyncSession, kind: Kind, organization_id: uuid.UUID | None, user_id: uuid.UUID | None
) -> Sequence[User]:
    if kind.audience == "address":
        return []
    if kind.audience == "user":
        found = await session.get(User, user_id) if user_id else None
        return [found] if found is not None else []
    return (
        await session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organization_id == organization_id,
                Membership.role.in_(("owner", "admin")),
                User.is_active.is_(True),
            )
            .order_by(User.created_at)
        )
    ).all()


async def _wanting_email(
    session: AsyncSession, kind: Kind, user_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if kind.critical or kind.category not in OPTIONAL:
        return set(user_ids)
    refused = set(
        await session.scalars(
            select(NotificationPreference.user_id).where(
                NotificationPreference.user_id.in_(user_ids),
                NotificationPreference.category == kind.category,
                NotificationPreference.email.is_(False),
            )
        )
    )
    return set(user_ids) - refused


def _notification(kind: Kind, event: Event | Recorded, user_id: uuid.UUID) -> dict[str, Any]:
    """The columns of a panel message (plain values: a billing run writes thousands)."""
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "organization_id": event.organization_id,
        "event_id": event.id,
        "category": kind.category,
        "title": words(kind.subject, event.data)[:200],
        "body": words(kind.body, event.data),
        "link": words(kind.link, event.data)[:500] if kind.link else None,
        "created_at": event.occurred_at,
    }


def _email(
    kind: Kind,
    event: Event | Recorded,
    data: dict[str, Any],
    recipient: str,
    user_id: uuid.UUID | None,
) -> dict[str, Any]:
    """The columns of an email waiting in the outbox."""
    return {
        "id": uuid.uuid4(),
        "event_id": event.id,
        "user_id": user_id,
        "recipient": recipient,
        "template": kind.type,
        "data": data,
        "status": "pending",
        "next_attempt_at": event.occurred_at,
        "message_id": f"{uuid.uuid4().hex}.{secrets.token_hex(4)}",
        "created_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }


async def of_user(
    session: AsyncSession, user_id: uuid.UUID, *, unread: bool, cursor: str | None, limit: int
) -> Sequence[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    query = newest_first(
        query, Notification.created_at, Notification.id, cursor=cursor, limit=limit
    )
    return (await session.scalars(query)).all()


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    counted = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(counted or 0)


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    done = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, clock.now()))
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotificationNotFound("No such notification")


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> dict[str, bool]:
    stored = {
        row.category: row.email
        for row in await session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    return {category: stored.get(category, True) for category in OPTIONAL}


async def save_preferences(
    session: AsyncSession, user_id: uuid.UUID, emails: dict[str, bool]
) -> dict[str, bool]:
    for category, email in emails.items():
        await session.execute(
            insert(NotificationPreference)
            .values(user_id=user_id, category=category, email=email)
            .on_conflict_do_update(index_elements=["user_id", "category"], set_={"email": email})
        )
    return await preferences(session, user_id)
