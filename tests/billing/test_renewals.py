from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit.periods import add_months
from skypanel.models import ActivityLog, BillingCycle, ContainerSubscription, EasypanelServer
from tests.billing.helpers import bill_at, deploy_workload, subscribe_at
from tests.support import Account, balance, clock_at, count, credit, make_admin, make_plan

ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


async def _cycles(db: async_sessionmaker[AsyncSession], org: object) -> list[BillingCycle]:
    async with db() as session:
        return list(
            await session.scalars(
                select(BillingCycle)
                .where(BillingCycle.organization_id == org)
                .order_by(BillingCycle.billing_period_start)
            )
        )


async def _subscription(db: async_sessionmaker[AsyncSession], org: object) -> ContainerSubscription:
    async with db() as session:
        found = await session.scalar(
            select(ContainerSubscription).where(ContainerSubscription.organization_id == org)
        )
    assert found is not None
    return found


async def test_thirteen_renewals_anchored_on_the_31st_charge_exactly_thirteen_times(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db, price_cents=1000)
    await credit(db, alice.organization_id, 20_000)
    await subscribe_at(client, alice, plan, ANCHOR)
    for n in range(1, 14):
        due = add_months(ANCHOR, n)
        early = await bill_at(client, db, due - timedelta(seconds=1))
        assert early.charged == 0
        report = await bill_at(client, db, due + timedelta(hours=1))
        assert report.charged == 1
        again = await bill_at(client, db, due + timedelta(hours=2))
        assert again.charged == 0

    cycles = await _cycles(db, alice.organization_id)
    assert [c.billing_period_start.date().isoformat() for c in cycles] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30",
        "2027-07-31", "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31",
        "2028-01-31", "2028-02-29",
    ]  # fmt: skip
    assert [c.kind for c in cycles] == ["initial"] + ["renewal"] * 13
    assert {c.status for c in cycles} == {"billed"}
    assert all(a.billing_period_end == b.billing_period_start for a, b in pairwise(cycles))
    assert (
        await count(db, "payment_transactions", organization_id=alice.organization_id, kind="debit")
        == 14
    )
    assert await balance(db, alice.organization_id) == 20_000 - 14 * 1000
    subscription = await _subscription(db, alice.organization_id)
    assert subscription.current_period_end == add_months(ANCHOR, 14)


async def test_a_price_change_applies_from_the_next_renewal(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db, price_cents=1000)
    admin = await make_admin(client, db)
    await credit(db, alice.organization_id, 5000)
    await subscribe_at(client, alice, plan, ANCHOR)
    changed = await client.put(
        f"/api/containers/admin/plans/{plan}", headers=admin.headers, json={"priceMonthly": "12.34"}
    )
    assert changed.status_code == 200
    assert await balance(db, alice.organization_id) == 4000
    await bill_at(client, db, add_months(ANCHOR, 1))
    assert await balance(db, alice.organization_id) == 4000 - 1234


async def test_grace_then_suspension_stops_the_workload_and_a_top_up_resumes_it(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    project, _ = await deploy_workload(easypanel, db, org)
    assert easypanel.controller.tasks(project, "web") == (1, 1)

    renewal = add_months(ANCHOR, 1)
    report = await bill_at(client, db, renewal)
    assert (report.charged, report.failed) == (0, 1)
    subscription = await _subscription(db, org)
    assert subscription.status == "past_due"
    assert subscription.grace_until == renewal + timedelta(days=3)
    assert easypanel.controller.tasks(project, "web") == (1, 1)

    still = await bill_at(client, db, renewal + timedelta(days=2, hours=23))
    assert still.suspended == 0
    suspended = await bill_at(client, db, renewal + timedelta(days=3, minutes=1))
    assert suspended.suspended == 1
    subscription = await _subscription(db, org)
    assert subscription.status == "suspended"
    assert easypanel.controller.tasks(project, "web")[0] == 0
    database = easypanel.controller.service(project, "db")
    assert database is not None
    assert database["enabled"] is False
    assert await balance(db, org) == 0

    admin = await make_admin(client, db)
    resume_at = renewal + timedelta(days=5)
    with clock_at(lambda: resume_at):
        topped = await client.post(
            f"/api/admin/organizations/{org}/wallet/adjustments",
            headers=admin.headers,
            json={"amount": "10.00", "description": "Top-up"},
        )
    assert topped.status_code == 201
    subscription = await _subscription(db, org)
    assert subscription.status == "active"
    assert subscription.current_period_start == resume_at
    assert subscription.current_period_end == add_months(resume_at, 1)
    assert easypanel.controller.tasks(project, "web")[0] == 1
    database = easypanel.controller.service(project, "db")
    assert database is not None
    assert database["enabled"] is True
    cycles = await _cycles(db, org)
    assert [(c.kind, c.status) for c in cycles] == [
        ("initial", "billed"),
        ("renewal", "void"),
        ("renewal", "billed"),
    ]
    assert await balance(db, org) == 0
    async with db() as session:
        rows = await session.execute(
            select(ActivityLog.created_at, ActivityLog.event_type)
            .where(ActivityLog.organization_id == org, ActivityLog.event_type.like("container.%"))
            .order_by(ActivityLog.created_at)
        )
        moments: dict[datetime, set[str]] = {}
        for at, event in rows:
            moments.setdefault(at, set()).add(event)
    assert list(moments.values()) == [
        {"container.subscription.create", "container.billing.charge"},
        {"container.billing.failed"},
        {"container.subscription.suspend"},
        {"container.billing.charge", "container.subscription.resume"},
    ]


async def test_a_top_up_during_grace_pays_the_failed_renewal(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    renewal = add_months(ANCHOR, 1)
    await bill_at(client, db, renewal)
    admin = await make_admin(client, db)
    with clock_at(lambda: renewal + timedelta(days=1)):
        await client.post(
            f"/api/admin/organizations/{org}/wallet/adjustments",
            headers=admin.headers,
            json={"amount": "15.00", "description": "Top-up"},
        )
    subscription = await _subscription(db, org)
    assert subscription.status == "active"
    assert subscription.grace_until is None
    assert subscription.current_period_start == renewal
    assert [c.status for c in await _cycles(db, org)] == ["billed", "billed"]
    assert await balance(db, org) == 500
    later = await bill_at(client, db, renewal + timedelta(days=10))
    assert later.suspended == 0


async def test_a_suspended_subscription_cannot_change_plan(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    other = await make_plan(db, price_cents=500, name="Small")
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    renewal = add_months(ANCHOR, 1)
    await bill_at(client, db, renewal)
    await bill_at(client, db, renewal + timedelta(days=4))
    with clock_at(lambda: renewal + timedelta(days=5)):
        refused = await client.put(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(other)}
        )
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "SUBSCRIPTION_SUSPENDED"
    assert (await _subscription(db, org)).plan_id == plan
