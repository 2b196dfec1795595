"""Sending webhook deliveries: claim what is due, send each with no transaction open, record the
attempt.

A claim marks a delivery `sending` with a lease (two workers never send it at once; one that died
lets it go when the lease ends). Each attempt is signed per Standard Webhooks with the delivery's
id as `webhook-id`, so a receiver drops the repeat when an answer was lost. A failure comes back
after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h, until three days after the first
attempt; then the delivery is `failed`. An endpoint that has failed for three days running, or
whose delivery ran out of days, is turned off and its organization told.

Requests go only to public addresses: the host is resolved at send time, every address it has is
checked, and the connection goes to the checked address (the URL's host stays in `Host` and in
TLS's SNI and certificate check), so a name cannot change between the check and the connection.
Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import Event
from skypanel.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from skypanel.notices.service import emit
from skypanel.notices.webhooks import TEST_EVENT, refused_address, secret_of, webhook_id

log = structlog.get_logger(__name__)

SCHEDULE = tuple(
    timedelta(seconds=seconds) for seconds in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
)
"""The wait after each failed attempt; the last one repeats."""
WINDOW = timedelta(days=3)
LEASE = timedelta(minutes=2)
TIMEOUT = 10.0
BATCH = 50
EXCERPT = 500


class AddressRefused(Exception):
    """The endpoint's host resolves to an address deliveries must not reach."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds, with all it needs to send it without the database."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    organization_id: uuid.UUID | None
    url: str
    secret: str
    body: str
    attempts: int
    first_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    latency_ms: int | None
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def reason(self) -> str:
        return self.error or f"HTTP {self.status_code}"


def payload(event: Event) -> str:
    """The body: the event's type, when it happened and its data, with the organization's id."""
    organization = str(event.organization_id) if event.organization_id else None
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "data": {**event.data, "organizationId": organization},
        },
        separators=(",", ":"),
        default=str,
    )


def delay_after(attempts: int) -> timedelta:
    return SCHEDULE[min(attempts, len(SCHEDULE)) - 1]


async def deliver_due(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Send every due delivery (in batches); the number the endpoints accepted."""
    delivered = 0
    async with httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT, trust_env=False) as http:
        while claimed := await _claim(sessions):
            for job in claimed:
                outcome = await send(http, job, allow_private=settings.webhooks_allow_private)
                await _record(sessions, job, outcome)
                delivered += outcome.ok
    return delivered


async def _claim(sessions: async_sessionmaker[AsyncSession]) -> list[Claimed]:
    now = clock.now()
    async with transaction(sessions) as session:
        due = (
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                or_(
                    and_(
                        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
                    ),
                    and_(
                        WebhookDelivery.status == "sending",
                        WebhookDelivery.lease_expires_at < now,
                    ),
                ),
                or_(WebhookEndpoint.enabled.is_(True), WebhookDelivery.event_type == TEST_EVENT),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(BATCH)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        rows = (
            await session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(due.scalar_subquery()))
                .values(
                    status="sending",
                    lease_expires_at=now + LEASE,
                    attempts=WebhookDelivery.attempts + 1,
                    first_attempt_at=func.coalesce(WebhookDelivery.first_attempt_at, now),
                )
                .returning(WebhookDelivery)
            )
        ).all()
        return [await _job(session, row) for row in rows]


async def _job(session: AsyncSession, delivery: WebhookDelivery) -> Claimed:
    endpoint = await session.get_one(WebhookEndpoint, delivery.endpoint_id)
    event = await session.get_one(Event, delivery.event_id)
    assert delivery.first_attempt_at is not None
    return Claimed(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        organization_id=endpoint.organization_id,
        url=endpoint.url,
        secret=secret_of(endpoint),
        body=payload(event),
        attempts=delivery.attempts,
        first_attempt_at=delivery.first_attempt_at,
    )


async def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`; `AddressRefused` when any address it has is not
    public (one private answer is enough to refuse: a client may pick any of them)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    if not addresses:
        raise AddressRefused(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                raise AddressRefused(f"{host} resolves to {reason}")
    return str(addresses[0])


async def send(http: httpx.AsyncClient, job: Claimed, *, allow_private: bool) -> Outcome:
    """One signed attempt; the outcome whatever happens (nothing here raises)."""
    parts = urlsplit(job.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = await resolve(host, port, allow_private=allow_private)
    except AddressRefused as exc:
        return Outcome(None, None, None, f"refused: {exc}")
    except OSError as exc:
        return Outcome(None, None, None, f"could not resolve {host}: {exc}")
    literal = f"[{address}]" if ":" in address else address
    target = parts._replace(netloc=f"{literal}:{port}").geturl()
    sent_at = datetime.now(UTC)  # the receiver compares it with its own clock: the real time
    message_id = webhook_id(job.delivery_id)
    headers = {
        "host": parts.netloc,
        "content-type": "application/json",
        "user-agent": "SkyPanel-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(job.secret).sign(message_id, sent_at, job.body),
    }
    started = time.monotonic()
    try:
        async with http.stream(
            "POST",
            target,
            content=job.body.encode(),
            headers=headers,
            extensions={"sni_hostname": host},
        ) as response:
            head = b""
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= EXCERPT * 4:
                    break
    except httpx.HTTPError as exc:
        return Outcome(None, _since(started), None, f"{type(exc).__name__}: {exc}"[:1000])
    excerpt = head.decode("utf-8", errors="replace")[:EXCERPT]
    return Outcome(response.status_code, _since(started), excerpt, None)


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


async def _record(
    sessions: async_sessionmaker[AsyncSession], job: Claimed, outcome: Outcome
) -> None:
    now = clock.now()
    async with transaction(sessions) as session:
        endpoint = await session.get(WebhookEndpoint, job.endpoint_id, with_for_update=True)
        if endpoint is None:
            return  # deleted meanwhile, with its deliveries
        session.add(
            WebhookAttempt(
                delivery_id=job.delivery_id,
                attempted_at=now,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
            )
        )
        recorded = {
            "lease_expires_at": None,
            "last_status_code": outcome.status_code,
            "last_error": None if outcome.ok else outcome.reason,
        }
        if outcome.ok:
            endpoint.failing_since = None
            await _update(session, job, status="delivered", delivered_at=now, **recorded)
            return
        retry_at = now + delay_after(job.attempts)
        final = retry_at > job.first_attempt_at + WINDOW
        status = "failed" if final else "pending"
        await _update(session, job, status=status, next_attempt_at=retry_at, **recorded)
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and (final or now - endpoint.failing_since >= WINDOW):
            await _disable(session, endpoint, outcome.reason)


async def _update(session: AsyncSession, job: Claimed, **values: object) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == job.delivery_id).values(**values)
    )


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    """Turn the endpoint off and tell its organization (the platform's are only logged)."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    log.warning("webhooks.endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)
    if endpoint.organization_id is None:
        return
    assert endpoint.failing_since is not None
    await emit(
        session,
        "webhook.endpoint_disabled",
        organization_id=endpoint.organization_id,
        dedupe_key=f"webhook.endpoint_disabled:{endpoint.id}:{endpoint.failing_since.isoformat()}",
        data={"url": endpoint.url, "days": WINDOW.days, "reason": reason[:200]},
    )
