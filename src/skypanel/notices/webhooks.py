"""Webhook endpoints and the deliveries queued for them.

An organization's endpoints receive its own events; the platform's (no organization) receive
every organization's. `queue` runs inside `emit`, in the transaction of the change: the
deliveries commit with the event or not at all, and the worker sends them afterwards
(`webhook_delivery.deliver_due`). Only the public event types below ever leave the panel; the
others (password resets, invitations) carry tokens and stay in.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import bulk, clock, uow
from skypanel.kit.crypto import SecretPlace, decrypt_secret, encrypt_secret
from skypanel.kit.errors import InvalidInput, NotFound
from skypanel.models import Event
from skypanel.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

PUBLIC_EVENTS = frozenset(
    {
        "subscription.created",
        "subscription.renewed",
        "subscription.renewal_failed",
        "subscription.suspended",
        "subscription.resumed",
        "subscription.cancelled",
        "subscription.terminated",
        "wallet.credited",
        "wallet.debited",
        "invoice.issued",
        "service.deployed",
        "service.deploy_failed",
        "service.stopped",
        "service.started",
        "service.deleted",
        "operation.failed",
    }
)
"""What an endpoint may subscribe to; an emitted event of one of these types is sent as is."""
ALL = "*"
TEST_EVENT = "webhook.test"
"""Sent only by "send a test event", to the one endpoint asked, whatever it subscribes to."""


class WebhookEndpointNotFound(NotFound):
    code = "WEBHOOK_ENDPOINT_NOT_FOUND"


class WebhookDeliveryNotFound(NotFound):
    code = "WEBHOOK_DELIVERY_NOT_FOUND"


class WebhookUrlRefused(InvalidInput):
    code = "WEBHOOK_URL_REFUSED"


class UnknownWebhookEvent(InvalidInput):
    code = "UNKNOWN_WEBHOOK_EVENT"


def webhook_id(delivery_id: uuid.UUID) -> str:
    """The `webhook-id` of every attempt of a delivery: stable, so receivers drop repeats."""
    return f"msg_{delivery_id.hex}"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: `whsec_` and base64 of 24 bytes."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _place(endpoint_id: uuid.UUID) -> SecretPlace:
    return SecretPlace("webhook_endpoints", "secret_encrypted", str(endpoint_id))


def secret_of(endpoint: WebhookEndpoint) -> str:
    return decrypt_secret(endpoint.secret_encrypted, _place(endpoint.id))


def refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a request must not go to `address` (anything but a public unicast address), if so."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, refused in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("non-public", not address.is_global),
    ):
        if refused:
            return f"{address} is a {kind} address"
    return None


def check_url(url: str, *, allow_private: bool) -> str:
    """An endpoint URL as stored: https (http too with private addresses allowed), a host, and
    no literal address that deliveries would refuse. Names are checked again at send time."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookUrlRefused("The URL must be an https:// address", field="url")
    if parts.username or parts.password:
        raise WebhookUrlRefused("The URL must not carry a user name or password", field="url")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    reason = refused_address(literal)
    if reason is not None and not allow_private:
        raise WebhookUrlRefused(f"Webhooks go only to public addresses ({reason})", field="url")
    return url


def check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - PUBLIC_EVENTS - {ALL})
    if unknown or not events:
        raise UnknownWebhookEvent(
            "Choose events from the list, or * for all", field="events", unknown=unknown
        )
    return [ALL] if ALL in events else sorted(set(events))


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID | None,
    *,
    url: str,
    events: Sequence[str],
    description: str | None,
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (shown this once: only its ciphertext is kept)."""
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        organization_id=organization_id,
        url=check_url(url, allow_private=allow_private),
        events=check_events(events),
        description=description,
    )
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_secret(secret, _place(endpoint.id))
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def endpoints(
    session: AsyncSession, organization_id: uuid.UUID | None
) -> Sequence[WebhookEndpoint]:
    return (
        await session.scalars(
            select(WebhookEndpoint)
            .where(_owned(organization_id))
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    ).all()


def _owned(organization_id: uuid.UUID | None) -> ColumnElement[bool]:
    """The one tenancy filter: an organization's endpoints, or the platform's (no organization)."""
    if organization_id is None:
        return WebhookEndpoint.organization_id.is_(None)
    return WebhookEndpoint.organization_id == organization_id


async def endpoint(
    session: AsyncSession, organization_id: uuid.UUID | None, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    found = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, _owned(organization_id))
    )
    if found is None:
        raise WebhookEndpointNotFound("No such webhook endpoint")
    return found


async def change(
    session: AsyncSession,
    organization_id: uuid.UUID | None,
    endpoint_id: uuid.UUID,
    *,
    url: str | None,
    events: Sequence[str] | None,
    description: str | None,
    enabled: bool | None,
    allow_private: bool,
) -> WebhookEndpoint:
    """Change what is given; turning an endpoint on again forgets its failures."""
    found = await endpoint(session, organization_id, endpoint_id)
    if url is not None:
        found.url = check_url(url, allow_private=allow_private)
    if events is not None:
        found.events = check_events(events)
    if description is not None:
        found.description = description or None
    if enabled is not None:
        if enabled and not found.enabled:
            found.failing_since = None
            found.disabled_reason = None
        found.enabled = enabled
    await session.flush()
    return found


async def remove(
    session: AsyncSession, organization_id: uuid.UUID | None, endpoint_id: uuid.UUID
) -> None:
    await session.delete(await endpoint(session, organization_id, endpoint_id))
    await session.flush()


async def rotate_secret(
    session: AsyncSession, organization_id: uuid.UUID | None, endpoint_id: uuid.UUID
) -> str:
    """A new secret, at once: attempts from now on are signed with it (and only it)."""
    found = await endpoint(session, organization_id, endpoint_id)
    secret = new_secret()
    found.secret_encrypted = encrypt_secret(secret, _place(found.id))
    await session.flush()
    return secret


class Happened(Protocol):
    """What queuing reads of an event: a loaded `Event`, or one a batch has just written."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def organization_id(self) -> uuid.UUID | None: ...
    @property
    def occurred_at(self) -> datetime: ...


async def queue(session: AsyncSession, event: Event) -> int:
    """Queue `event` for every enabled endpoint that subscribes to it; how many were queued."""
    return await queue_many(session, [event])


async def queue_many(session: AsyncSession, events: Sequence[Happened]) -> int:
    """Queue each event for the enabled endpoints that subscribe to it (the platform's, and its
    organization's): one read of the endpoints and one insert for the whole batch."""
    public = [event for event in events if event.type in PUBLIC_EVENTS]
    if not public:
        return 0
    organizations = {event.organization_id for event in public} - {None}
    audience: ColumnElement[bool] = WebhookEndpoint.organization_id.is_(None)
    if organizations:
        audience = or_(audience, WebhookEndpoint.organization_id.in_(organizations))
    endpoints = (
        await session.execute(
            select(
                WebhookEndpoint.id, WebhookEndpoint.organization_id, WebhookEndpoint.events
            ).where(WebhookEndpoint.enabled.is_(True), audience)
        )
    ).all()
    rows = [
        _delivery(endpoint_id, event)
        for event in public
        for endpoint_id, owner, wanted in endpoints
        if owner in (None, event.organization_id) and (ALL in wanted or event.type in wanted)
    ]
    if rows:
        await bulk.insert_new(session, WebhookDelivery, rows, unique=("endpoint_id", "event_id"))
        uow.send_webhooks(session)
    return len(rows)


def _delivery(endpoint_id: uuid.UUID, event: Happened) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "event_type": event.type,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": event.occurred_at,
        "created_at": event.occurred_at,
    }


async def send_test(
    session: AsyncSession, organization_id: uuid.UUID | None, endpoint_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint alone (enabled or not: it is a check)."""
    found = await endpoint(session, organization_id, endpoint_id)
    event = Event(
        id=uuid.uuid4(),
        type=TEST_EVENT,
        organization_id=organization_id,
        data={"endpointId": str(found.id)},
        dedupe_key=f"{TEST_EVENT}:{uuid.uuid4()}",
        occurred_at=clock.now(),
    )
    session.add(event)
    await session.flush()
    delivery = WebhookDelivery(**_delivery(found.id, event))
    session.add(delivery)
    await session.flush()
    uow.send_webhooks(session)
    return delivery


async def deliveries(
    session: AsyncSession,
    organization_id: uuid.UUID | None,
    endpoint_id: uuid.UUID,
    *,
    limit: int,
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The endpoint's latest deliveries, newest first, each with its attempts in order."""
    await endpoint(session, organization_id, endpoint_id)
    rows = (
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    ).all()
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {row.id: [] for row in rows}
    for attempt in await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(attempts))
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    ):
        attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows]


async def redeliver(
    session: AsyncSession, organization_id: uuid.UUID | None, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again from now, with a new three-day round and the same `webhook-id`
    (a receiver that kept it treats the repeat as the message it has)."""
    found = await session.scalar(
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id, _owned(organization_id))
        .with_for_update(of=WebhookDelivery)
    )
    if found is None:
        raise WebhookDeliveryNotFound("No such webhook delivery")
    found.status = "pending"
    found.attempts = 0
    found.first_attempt_at = None
    found.lease_expires_at = None
    found.next_attempt_at = clock.now()
    await session.flush()
    uow.send_webhooks(session)
    return found
