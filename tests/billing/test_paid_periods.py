"""A period is paid at most once: the database refuses two paid cycles of one subscription whose
paid service overlaps, and a plan change during the grace period settles the unpaid renewal for
the part of the period already used instead of leaving it to be paid in full later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import BillingCycle, ContainerSubscription, EasypanelServer
from tests.billing.helpers import bill_at, subscribe_at
from tests.support import Account, balance, clock_at, count, credit, make_admin, make_plan

MARCH = datetime(2027, 3, 1, tzinfo=UTC)
APRIL = datetime(2027, 4, 1, tzinfo=UTC)
MAY = datetime(2027, 5, 1, tzinfo=UTC)


async def _cycles(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> list[tuple[object, ...]]:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT kind, status, amount_cents, refunded_cents, billing_period_start,"
                " billing_period_end, effective_end FROM container_billing_cycles"
                " WHERE organization_id = :o ORDER BY billing_period_start, created_at"
            ),
            {"o": org},
        )
        return [tuple(row) for row in rows]


async def _subscription(
    db: async_sessionmaker[AsyncSession], org: uuid.UUID
) -> ContainerSubscription:
    async with db() as session:
        found = await session.scalar(
            select(ContainerSubscription).where(ContainerSubscription.organization_id == org)
        )
    assert found is not None
    return found


async def _top_up(client: httpx.AsyncClient, admin: Account, org: uuid.UUID, amount: str) -> None:
    response = await client.post(
        f"/api/admin/organizations/{org}/wallet/adjustments",
        headers=admin.headers,
        json={"amount": amount, "description": "Top-up"},
    )
    assert response.status_code == 201, response.text


async def _change(client: httpx.AsyncClient, account: Account, plan: uuid.UUID) -> httpx.Response:
    return await client.put(
        "/api/containers/subscription", headers=account.headers, json={"planId": str(plan)}
    )


async def test_a_plan_change_in_grace_settles_the_used_part_and_the_period_is_paid_once(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    """The issue's case: the renewal fails, a partial credit, a plan change, a later credit.
    Before, the change charged the new plan and left the failed renewal to be paid in full by
    the next credit: 14.83 for April, a period worth 10.00 at most."""
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    small = await make_plan(db, price_cents=500, name="Small")
    admin = await make_admin(client, db)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, starter, MARCH)
    failed = await bill_at(client, db, APRIL)
    assert failed.failed == 1
    with clock_at(lambda: APRIL + timedelta(hours=12)):
        await _top_up(client, admin, org, "6.00")
    assert (await _subscription(db, org)).status == "past_due"

    at = APRIL + timedelta(days=1)
    with clock_at(lambda: at):
        changed = await _change(client, alice, small)
    assert changed.status_code == 200, changed.text
    # Starter for 1 of April's 30 days: 1000 - round(1000 * 29/30) = 1000 - 967 = 33;
    # Small for the other 29: round(500 * 29/30) = round(483.33) = 483.
    assert (changed.json()["credited"], changed.json()["charged"]) == ("0.00", "5.16")
    assert changed.json()["subscription"]["status"] == "active"
    assert await balance(db, org) == 600 - 33 - 483
    subscription = await _subscription(db, org)
    assert (subscription.status, subscription.grace_until) == ("active", None)

    with clock_at(lambda: at + timedelta(hours=1)):
        await _top_up(client, admin, org, "10.00")
    await bill_at(client, db, at + timedelta(days=5))
    assert await balance(db, org) == 600 - 33 - 483 + 1000
    assert await _cycles(db, org) == [
        ("initial", "billed", 1000, 0, MARCH, APRIL, None),
        ("renewal", "billed", 33, 0, APRIL, MAY, at),
        ("proration", "billed", 483, 0, at, MAY, None),
    ]
    renewed = await bill_at(client, db, MAY)
    assert renewed.charged == 1
    assert await balance(db, org) == 1084 - 500


async def test_a_plan_change_in_grace_the_wallet_cannot_cover_changes_nothing(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    small = await make_plan(db, price_cents=500, name="Small")
    await credit(db, org, 1000)
    await subscribe_at(client, alice, starter, MARCH)
    await bill_at(client, db, APRIL)
    await credit(db, org, 515)
    with clock_at(lambda: APRIL + timedelta(days=1)):
        refused = await _change(client, alice, small)
    assert refused.status_code == 402
    assert refused.json()["error"] == {
        "code": "INSUFFICIENT_BALANCE",
        "message": "The wallet balance is too low for the new plan",
        "details": {"required": "5.16", "available": "5.15", "currency": "USD"},
    }
    assert await balance(db, org) == 515
    subscription = await _subscription(db, org)
    assert (subscription.status, subscription.plan_id) == ("past_due", starter)
    assert await _cycles(db, org) == [
        ("initial", "billed", 1000, 0, MARCH, APRIL, None),
        ("renewal", "failed", 1000, 0, APRIL, MAY, None),
    ]


async def test_an_on_time_plan_change_records_where_the_old_cycle_ended(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    """The old cycle keeps the period it was billed for; its paid service ends at the change."""
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    pro = await make_plan(db, price_cents=2500, name="Pro")
    await credit(db, org, 5000)
    await subscribe_at(client, alice, starter, APRIL)
    at = datetime(2027, 4, 16, tzinfo=UTC)
    with clock_at(lambda: at):
        changed = await _change(client, alice, pro)
    assert (changed.json()["credited"], changed.json()["charged"]) == ("5.00", "12.50")
    assert await _cycles(db, org) == [
        ("initial", "refunded", 1000, 500, APRIL, MAY, at),
        ("proration", "billed", 1250, 0, at, MAY, None),
    ]


async def test_a_cancellation_records_where_the_paid_service_ended(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=3000)
    await credit(db, org, 3000)
    await subscribe_at(client, alice, plan, APRIL)
    at = datetime(2027, 4, 16, tzinfo=UTC)
    with clock_at(lambda: at):
        cancelled = await client.delete(
            "/api/containers/subscription",
            headers=alice.headers,
            params={"confirm": "test-user-s-organization"},
        )
    assert cancelled.is_success, cancelled.text
    assert cancelled.json()["refundAmount"] == "15.00"
    assert await balance(db, org) == 1500
    assert await _cycles(db, org) == [("initial", "refunded", 3000, 1500, APRIL, MAY, at)]


async def test_two_plan_changes_at_the_same_instant_are_both_prorated(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    """A change at the very moment a cycle starts refunds all of it (its paid service is empty)
    and starts the new cycle at the same moment. Before, the second cycle's start collided with
    the first one's and the request failed with a 500."""
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    pro = await make_plan(db, price_cents=2500, name="Pro")
    await credit(db, org, 5000)
    await subscribe_at(client, alice, starter, APRIL)
    with clock_at(lambda: APRIL):
        up = await _change(client, alice, pro)
        down = await _change(client, alice, starter)
    assert up.status_code == 200, up.text
    assert (up.json()["credited"], up.json()["charged"]) == ("10.00", "25.00")
    assert down.status_code == 200, down.text
    assert (down.json()["credited"], down.json()["charged"]) == ("25.00", "10.00")
    assert await balance(db, org) == 4000
    assert sorted(await _cycles(db, org), key=lambda c: (c[0], c[2])) == [
        ("initial", "refunded", 1000, 1000, APRIL, MAY, APRIL),
        ("proration", "billed", 1000, 0, APRIL, MAY, None),
        ("proration", "refunded", 2500, 2500, APRIL, MAY, APRIL),
    ]


async def test_a_plan_change_after_the_period_ended_charges_from_the_next_renewal(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    """Between a period's end and the run that renews it nothing of the period is left: the
    plan changes with nothing charged or credited, and the renewal charges the new plan.
    Before, the change wrote a cycle ending before it started."""
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    pro = await make_plan(db, price_cents=2500, name="Pro")
    await credit(db, org, 5000)
    await subscribe_at(client, alice, starter, MARCH)
    with clock_at(lambda: APRIL + timedelta(minutes=5)):
        changed = await _change(client, alice, pro)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["credited"], changed.json()["charged"]) == ("0.00", "0.00")
    assert await count(db, "container_billing_cycles", organization_id=org, kind="proration") == 0
    await bill_at(client, db, APRIL + timedelta(minutes=7))
    assert await balance(db, org) == 5000 - 1000 - 2500
    assert await _cycles(db, org) == [
        ("initial", "billed", 1000, 0, MARCH, APRIL, None),
        ("renewal", "billed", 2500, 0, APRIL, MAY, None),
    ]


async def test_the_database_refuses_two_paid_cycles_over_one_period(
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    client: httpx.AsyncClient,
    alice: Account,
) -> None:
    """Whatever the code does, a period cannot be paid twice: the constraint is over the paid
    service (the period, or up to where a plan change or a cancellation ended it)."""
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, APRIL)
    subscription = await _subscription(db, org)

    def cycle(start: datetime, end: datetime, status: str, **extra: object) -> BillingCycle:
        return BillingCycle(
            id=uuid.uuid4(),
            subscription_id=subscription.id,
            organization_id=org,
            plan_id=plan,
            kind="proration",
            billing_period_start=start,
            billing_period_end=end,
            monthly_rate_cents=1000,
            amount_cents=0,
            status=status,
            **extra,
        )

    mid = APRIL + timedelta(days=10)
    for status in ("billed", "refunded", "pending"):
        async with db() as session:
            session.add(cycle(mid, MAY, status))
            with pytest.raises(IntegrityError, match="ex_container_billing_cycles_paid_once"):
                await session.flush()
    async with db() as session:
        session.add(cycle(mid, MAY, "failed"))
        session.add(cycle(mid + timedelta(days=1), MAY, "void"))
        await session.flush()
        await session.execute(
            text("UPDATE container_billing_cycles SET effective_end = :at WHERE kind = 'initial'"),
            {"at": mid},
        )
        session.add(cycle(mid + timedelta(seconds=1), MAY, "billed"))
        await session.flush()
        with pytest.raises(IntegrityError, match="ck_container_billing_cycles_effective_end"):
            await session.execute(
                text(
                    "UPDATE container_billing_cycles SET effective_end = :at WHERE kind = 'initial'"
                ),
                {"at": MAY + timedelta(days=1)},
            )
