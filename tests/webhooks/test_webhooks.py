"""Signed webhooks end to end: register, emit, deliver to a receiver on loopback, retry, log,
refuse private addresses, rotate the secret, turn a dead endpoint off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from skypanel.config import Settings
from skypanel.models import Event, Notification
from skypanel.models.webhooks import WebhookDelivery, WebhookEndpoint
from skypanel.notices import service as notices
from skypanel.notices.webhook_delivery import deliver_due
from tests.support import Account, clock_at
from tests.webhooks.conftest import Receiver

RENEWAL_FAILED = {"plan": "Starter", "amount": "$10.00", "balance": "$2.00", "grace_until": "Dec 4"}


async def _register(
    http: httpx.AsyncClient, account: Account, url: str, events: list[str], *, base: str = ""
) -> dict[str, Any]:
    response = await http.post(
        f"/api{base}/webhooks/endpoints",
        json={"url": url, "events": events},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _emit(
    db: async_sessionmaker[AsyncSession], account: Account, key: str, type: str = ""
) -> Event:
    async with db() as session:
        event = await notices.emit(
            session,
            type or "subscription.renewal_failed",
            dedupe_key=key,
            organization_id=account.organization_id,
            data=RENEWAL_FAILED,
        )
        await session.commit()
    assert event is not None
    return event


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_every_delivery_verifies_and_goes_to_subscribers_only(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
    admin: Account,
) -> None:
    mine = await _register(client, alice, receiver.url(), ["subscription.renewal_failed"])
    other = await _register(client, alice, receiver.url("localhost"), ["service.deployed"])
    platform = await _register(client, admin, receiver.url(), ["*"], base="/admin")
    assert mine["secret"].startswith("whsec_")
    assert mine["organizationId"] == str(alice.organization_id)
    assert platform["organizationId"] is None

    event = await _emit(db, alice, "renewal_failed:verify")
    async with db() as session:
        await notices.emit(
            session,
            "account.password_reset",
            dedupe_key="reset:never-sent",
            user_id=alice.user_id,
            data={"email": alice.email, "minutes": 30, "token": "secret-token"},
        )
        await session.commit()

    assert await deliver_due(db, private_allowed) == 2
    assert await deliver_due(db, private_allowed) == 0
    assert len(receiver.requests) == 2
    secrets = {mine["secret"], platform["secret"]}
    for request in receiver.requests:
        verified = [_verifies(secret, request.body, request.headers) for secret in secrets]
        assert verified.count(True) == 1
        payload = Webhook(next(s for s, ok in zip(secrets, verified, strict=True) if ok)).verify(
            request.body, request.headers
        )
        assert payload == {
            "type": "subscription.renewal_failed",
            "timestamp": event.occurred_at.isoformat(),
            "data": {**RENEWAL_FAILED, "organizationId": str(alice.organization_id)},
        }
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 2
    log = await client.get(
        f"/api/webhooks/endpoints/{other['id']}/deliveries", headers=alice.headers
    )
    assert log.json() == []


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def test_a_receiver_that_fails_three_times_gets_each_event_once_more(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
) -> None:
    receiver.failures = 3
    endpoint = await _register(client, alice, receiver.url(), ["*"])
    clock = Clock()
    with clock_at(clock):
        await _emit(db, alice, "renewal_failed:one")
        await _emit(db, alice, "renewal_failed:two")
        assert await deliver_due(db, private_allowed) == 0
        for wait in (timedelta(seconds=5), timedelta(minutes=5)):
            clock.now += wait - timedelta(seconds=1)
            assert await deliver_due(db, private_allowed) == 0  # not due yet
            clock.now += timedelta(seconds=1)
            assert await deliver_due(db, private_allowed) == 0
        clock.now += timedelta(minutes=30)
        assert await deliver_due(db, private_allowed) == 2
        clock.now += timedelta(days=4)
        assert await deliver_due(db, private_allowed) == 0

    accepted = receiver.accepted()
    assert len(receiver.requests) == 8
    assert len(accepted) == 2
    assert len({request.headers["webhook-id"] for request in accepted}) == 2
    for request in receiver.requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    response = await client.get(
        f"/api/webhooks/endpoints/{endpoint['id']}/deliveries", headers=alice.headers
    )
    deliveries = response.json()
    assert [d["status"] for d in deliveries] == ["delivered", "delivered"]
    for delivery in deliveries:
        assert delivery["attempts"] == 4
        assert [a["statusCode"] for a in delivery["log"]] == [500, 500, 500, 200]
        assert [a["responseExcerpt"] for a in delivery["log"]][-2:] == ["receiver is down", "ok"]
        assert all(a["latencyMs"] >= 0 for a in delivery["log"])

    redone = await client.post(
        f"/api/webhooks/deliveries/{deliveries[0]['id']}/redeliver", headers=alice.headers
    )
    assert redone.status_code == 202, redone.text
    assert len(receiver.requests) == 9, "the panel sends a redelivery right after its commit"
    assert receiver.requests[-1].headers["webhook-id"] == deliveries[0]["webhookId"]
    assert await deliver_due(db, private_allowed) == 0


async def test_private_addresses_are_refused_without_the_setting(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    alice: Account,
) -> None:
    for url in (
        "https://127.0.0.1/hooks",
        "https://169.254.169.254/latest",
        "https://[::1]/hooks",
        "https://10.0.0.8/hooks",
        receiver.url(),
    ):
        refused = await client.post(
            "/api/webhooks/endpoints", json={"url": url, "events": ["*"]}, headers=alice.headers
        )
        assert refused.status_code == 422, url
        assert refused.json()["error"]["code"] == "WEBHOOK_URL_REFUSED"
        assert refused.json()["error"]["details"] == {"field": "url"}

    endpoint = await _register(client, alice, f"https://localhost:{receiver.port}/hooks", ["*"])
    await _emit(db, alice, "renewal_failed:private")
    assert await deliver_due(db, settings) == 0
    assert receiver.requests == []
    [delivery] = (
        await client.get(
            f"/api/webhooks/endpoints/{endpoint['id']}/deliveries", headers=alice.headers
        )
    ).json()
    [attempt] = delivery["log"]
    assert attempt["statusCode"] is None
    assert attempt["error"].startswith("refused: localhost resolves to ")
    assert "loopback" in attempt["error"]


async def test_private_addresses_are_accepted_with_the_setting(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
) -> None:
    endpoint = await _register(client, alice, receiver.url("localhost"), ["*"])
    tested = await client.post(
        f"/api/webhooks/endpoints/{endpoint['id']}/test", headers=alice.headers
    )
    assert tested.status_code == 202, tested.text
    assert tested.json()["eventType"] == "webhook.test"
    assert await deliver_due(db, private_allowed) == 0, "sent right after the commit"
    [request] = receiver.requests
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert request.headers["host"] == f"localhost:{receiver.port}"


async def test_rotating_the_secret_makes_old_signatures_fail(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
) -> None:
    endpoint = await _register(client, alice, receiver.url(), ["*"])
    rotated = await client.post(
        f"/api/webhooks/endpoints/{endpoint['id']}/rotate-secret", headers=alice.headers
    )
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != endpoint["secret"]
    await client.post(f"/api/webhooks/endpoints/{endpoint['id']}/test", headers=alice.headers)
    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    Webhook(secret).verify(request.body, request.headers)


async def test_another_organizations_endpoint_is_not_found(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
    bob: Account,
) -> None:
    endpoint = await _register(client, alice, receiver.url(), ["*"])
    await _emit(db, alice, "renewal_failed:tenancy")
    async with db() as session:
        delivery_id = await session.scalar(select(WebhookDelivery.id))
    base = f"/api/webhooks/endpoints/{endpoint['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("PUT", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"/api/admin/webhooks/endpoints/{endpoint['id']}/test", None),
    ):
        answer = await client.request(method, path, json=body, headers=bob.headers)
        assert answer.status_code in (403, 404), (method, path)
        if answer.status_code == 404:
            assert answer.json()["error"]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"
    redone = await client.post(
        f"/api/webhooks/deliveries/{delivery_id}/redeliver", headers=bob.headers
    )
    assert redone.status_code == 404
    assert redone.json()["error"]["code"] == "WEBHOOK_DELIVERY_NOT_FOUND"
    listed = await client.get("/api/webhooks/endpoints", headers=bob.headers)
    assert listed.json() == []
    async with db() as session:
        kept = await session.get_one(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        assert kept.enabled is True


async def test_an_endpoint_that_fails_for_three_days_is_turned_off_and_its_owners_told(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    receiver: Receiver,
    alice: Account,
) -> None:
    receiver.failures = 1000
    endpoint = await _register(client, alice, receiver.url(), ["*"])
    clock = Clock()
    with clock_at(clock):
        await _emit(db, alice, "renewal_failed:dead")
        for _ in range(20):
            assert await deliver_due(db, private_allowed) == 0
            async with db() as session:
                delivery = await session.scalar(select(WebhookDelivery))
            assert delivery is not None
            if delivery.status == "failed":
                break
            clock.now = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.attempts == 12
    assert len(receiver.requests) == 12
    async with db() as session:
        dead = await session.get_one(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        notices_sent = (
            await session.scalars(
                select(Notification)
                .join(Event, Event.id == Notification.event_id)
                .where(Event.type == "webhook.endpoint_disabled")
            )
        ).all()
    assert dead.enabled is False
    assert dead.disabled_reason == "HTTP 500"
    assert [n.user_id for n in notices_sent] == [alice.user_id]
    assert notices_sent[0].title == f"Webhook endpoint {receiver.url()} was turned off"

    await _emit(db, alice, "renewal_failed:while-off")
    assert await deliver_due(db, private_allowed) == 0
    assert len(receiver.requests) == 12
    turned_on = await client.put(
        f"/api/webhooks/endpoints/{endpoint['id']}", json={"enabled": True}, headers=alice.headers
    )
    assert turned_on.json()["enabled"] is True
    assert turned_on.json()["failingSince"] is None
