"""A top-up settles what is overdue and resumes what was suspended, as an admin's credit does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit.periods import add_months
from skypanel.models import ContainerSubscription, EasypanelServer
from skypanel.payments import service as payments
from skypanel.payments.gateways import Gateways
from skypanel.standins.stripe import RunningStripe, running_stripe
from tests.billing.helpers import bill_at, subscribe_at
from tests.support import Account, balance, clock_at, credit, make_plan

ANCHOR = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
RENEWAL = add_months(ANCHOR, 1)


@pytest.fixture(scope="module")
def stripe_standin() -> Iterator[RunningStripe]:
    with running_stripe() as running:
        yield running


async def _status(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> str:
    async with db() as session:
        found = await session.scalar(
            select(ContainerSubscription.status).where(ContainerSubscription.organization_id == org)
        )
    return str(found)


async def _pay(
    client: httpx.AsyncClient, stripe: RunningStripe, alice: Account, at: datetime
) -> None:
    with clock_at(lambda: at):
        started = await client.post(
            "/api/wallet/top-ups",
            headers=alice.headers,
            json={"amount": "10.00", "provider": "stripe"},
        )
        assert started.status_code == 201, started.text
        stripe.pay(started.json()["checkoutUrl"].rsplit("/", 1)[-1])
        confirmed = await client.post(
            f"/api/wallet/top-ups/{started.json()['id']}/confirm", headers=alice.headers
        )
    assert confirmed.json()["status"] == "succeeded", confirmed.text


async def _configure(
    client: httpx.AsyncClient, admin: Account, alice: Account, stripe: RunningStripe
) -> None:
    """Stripe configured in the console (with the stand-in), and alice's billing details."""
    configured = await client.put(
        "/api/admin/payment-gateways/stripe",
        headers=admin.headers,
        json={
            "testMode": True,
            "secret": stripe.secret_key,
            "webhookSecret": stripe.webhook_secret,
            "apiBase": stripe.base_url,
        },
    )
    assert configured.status_code == 200, configured.text
    profile = await client.put(
        "/api/billing-profile",
        headers=alice.headers,
        json={
            "legalName": "Alice Example",
            "addressLine1": "1 Main Street",
            "postalCode": "10001",
            "city": "New York",
            "country": "US",
        },
    )
    assert profile.status_code == 200, profile.text


async def test_a_top_up_settles_the_overdue_renewal_then_resumes_a_suspension(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    stripe_standin: RunningStripe,
) -> None:
    await _configure(client, admin, alice, stripe_standin)
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)

    assert (await bill_at(client, db, RENEWAL + timedelta(hours=1))).failed == 1
    assert await _status(db, org) == "past_due"
    await _pay(client, stripe_standin, alice, RENEWAL + timedelta(hours=2))
    assert await _status(db, org) == "active"

    second = add_months(ANCHOR, 2)
    await bill_at(client, db, second + timedelta(hours=1))
    assert (await bill_at(client, db, second + timedelta(days=4))).suspended == 1
    assert await _status(db, org) == "suspended"
    await _pay(client, stripe_standin, alice, second + timedelta(days=4, hours=1))
    assert await _status(db, org) == "active"


async def test_a_payment_whose_notification_never_came_is_credited_by_the_sweep(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: Account,
    alice: Account,
    stripe_standin: RunningStripe,
) -> None:
    """No webhook is registered with the stand-in here: only the sweep can learn of the
    payment. A checkout nobody finishes ends as expired."""
    await _configure(client, admin, alice, stripe_standin)
    now = datetime.now(UTC)
    with clock_at(lambda: now):
        paid = await client.post(
            "/api/wallet/top-ups",
            headers=alice.headers,
            json={"amount": "12.00", "provider": "stripe"},
        )
        left = await client.post(
            "/api/wallet/top-ups",
            headers=alice.headers,
            json={"amount": "8.00", "provider": "stripe"},
        )
    stripe_standin.pay(paid.json()["checkoutUrl"].rsplit("/", 1)[-1])
    gateways = Gateways(settings)
    with clock_at(lambda: now + timedelta(minutes=1)):
        assert await payments.sweep_pending(db, gateways) == []
    with clock_at(lambda: now + timedelta(minutes=6)):
        swept = await payments.sweep_pending(db, gateways)
    assert sorted(a.outcome for a in swept) == ["credited", "ignored"]
    assert await balance(db, alice.organization_id) == 1200
    with clock_at(lambda: now + timedelta(days=3, minutes=1)):
        [expired] = await payments.sweep_pending(db, gateways)
    assert expired.outcome == "expired"
    listed = (await client.get("/api/wallet/top-ups", headers=alice.headers)).json()["items"]
    assert {t["id"]: t["status"] for t in listed} == {
        paid.json()["id"]: "succeeded",
        left.json()["id"]: "expired",
    }
