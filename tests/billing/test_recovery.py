"""Late runs and lost steps: the grace period counts from when a failure is recorded, and a
subscription whose wallet can pay always recovers, even when the step after a credit was lost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from bench.seed import seed_due_subscriptions
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from skypanel.emulator import RunningEmulator
from skypanel.kit.periods import add_months
from skypanel.models import ContainerSubscription, EasypanelServer
from tests.billing.helpers import bill_at, deploy_workload, subscribe_at
from tests.support import Account, balance, clock_at, count, credit, make_plan

ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
RENEWAL = add_months(ANCHOR, 1)


async def _subscription(
    db: async_sessionmaker[AsyncSession], org: uuid.UUID
) -> ContainerSubscription:
    async with db() as session:
        found = await session.scalar(
            select(ContainerSubscription).where(ContainerSubscription.organization_id == org)
        )
    assert found is not None
    return found


async def test_a_late_run_still_grants_the_whole_grace_period(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    """The worker was down for five days: the renewal fails when the run comes, and the
    services keep running for three days from then. Before, the grace counted from the
    period's start, so the same run failed the renewal and suspended the subscription."""
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    late = RENEWAL + timedelta(days=5)
    report = await bill_at(client, db, late)
    assert (report.failed, report.suspended) == (1, 0)
    subscription = await _subscription(db, org)
    assert subscription.status == "past_due"
    assert subscription.grace_until == late + timedelta(days=3)
    still = await bill_at(client, db, late + timedelta(days=2, hours=23))
    assert still.suspended == 0
    suspended = await bill_at(client, db, late + timedelta(days=3, minutes=1))
    assert suspended.suspended == 1
    assert (await _subscription(db, org)).status == "suspended"


async def test_a_suspended_subscription_resumes_at_the_next_run_when_its_credit_step_was_lost(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    """The credit committed, then the process died before `after_credit`: the hourly run
    resumes the subscription exactly as `after_credit` would have. Before, it never did."""
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    project, _ = await deploy_workload(easypanel, db, org)
    await bill_at(client, db, RENEWAL)
    await bill_at(client, db, RENEWAL + timedelta(days=4))
    assert (await _subscription(db, org)).status == "suspended"
    assert easypanel.controller.tasks(project, "web")[0] == 0

    await credit(db, org, 999)  # committed; `after_credit` never runs
    short = await bill_at(client, db, RENEWAL + timedelta(days=5))
    assert short.resumed == 0
    assert (await _subscription(db, org)).status == "suspended"

    await credit(db, org, 1)
    at = RENEWAL + timedelta(days=6)
    report = await bill_at(client, db, at)
    assert (report.resumed, report.charged, report.suspended) == (1, 0, 0)
    subscription = await _subscription(db, org)
    assert subscription.status == "active"
    assert (subscription.current_period_start, subscription.current_period_end) == (
        at,
        add_months(at, 1),
    )
    assert subscription.suspended_services == []
    assert await balance(db, org) == 0
    assert easypanel.controller.tasks(project, "web")[0] == 1
    database = easypanel.controller.service(project, "db")
    assert database is not None
    assert database["enabled"] is True
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT kind, status, amount_cents, billing_period_start FROM"
                " container_billing_cycles WHERE organization_id = :o"
                " ORDER BY billing_period_start"
            ),
            {"o": org},
        )
        assert [tuple(r) for r in rows] == [
            ("initial", "billed", 1000, ANCHOR),
            ("renewal", "void", 1000, RENEWAL),
            ("renewal", "billed", 1000, at),
        ]
    again = await bill_at(client, db, at + timedelta(hours=1))
    assert (again.resumed, again.charged) == (0, 0)
    assert await count(db, "activity_logs", event_type="container.subscription.resume") == 1


async def test_a_past_due_subscription_recovers_at_the_next_run_when_its_credit_step_was_lost(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    await bill_at(client, db, RENEWAL)
    await credit(db, org, 1200)  # committed; `after_credit` never runs
    report = await bill_at(client, db, RENEWAL + timedelta(days=1))
    assert (report.recovered, report.suspended) == (1, 0)
    subscription = await _subscription(db, org)
    assert (subscription.status, subscription.grace_until) == ("active", None)
    assert subscription.current_period_start == RENEWAL
    assert await balance(db, org) == 200


DUE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
PRICE = 1500


async def test_four_workers_resume_each_payable_suspended_subscription_once(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """1,000 suspended subscriptions whose credits' follow-up was lost, 200 of them still short,
    swept by four concurrent runs while `after_credit` races them for a few: each payable one
    is charged a fresh month exactly once, the short ones are left alone."""
    plan = await make_plan(committed, price_cents=PRICE)
    await seed_due_subscriptions(committed, count=800, plan_id=plan, due=DUE, balance_cents=2000)
    await seed_due_subscriptions(committed, count=200, plan_id=plan, due=DUE, balance_cents=1499)
    suspended_at = DUE + timedelta(days=3)
    async with committed() as session:
        await session.execute(
            text("UPDATE container_subscriptions SET status = 'suspended', suspended_at = :at"),
            {"at": suspended_at},
        )
        racing = list(
            await session.scalars(
                text(
                    "SELECT s.organization_id FROM container_subscriptions s"
                    " JOIN wallets w ON w.organization_id = s.organization_id"
                    " WHERE w.balance_cents = 2000 ORDER BY s.id LIMIT 20"
                )
            )
        )
        await session.commit()
    at = suspended_at + timedelta(days=1)
    with clock_at(lambda: at):
        results = await asyncio.gather(
            *(billing.run(committed, batch=50) for _ in range(4)),
            *(billing.after_credit(committed, org) for org in racing),
        )
    assert sum(r.resumed for r in results) == 800
    async with committed() as session:
        cycles = (
            await session.execute(
                text(
                    "SELECT count(*), count(DISTINCT subscription_id), min(billing_period_start),"
                    " max(billing_period_start) FROM container_billing_cycles"
                    " WHERE status = 'billed' AND amount_cents = :price"
                ),
                {"price": PRICE},
            )
        ).one()
        assert tuple(cycles) == (800, 800, at, at)
        statuses = dict(
            (
                await session.execute(
                    text(
                        "SELECT w.balance_cents, string_agg(DISTINCT s.status, ',')"
                        " FROM container_subscriptions s JOIN wallets w"
                        " ON w.organization_id = s.organization_id GROUP BY w.balance_cents"
                    )
                )
            ).all()
        )
        assert statuses == {500: "active", 1499: "suspended"}
        wrong = await session.scalar(
            text(
                "SELECT count(*) FROM wallets w WHERE w.balance_cents <>"
                " (SELECT sum(amount_cents) FROM payment_transactions p WHERE p.wallet_id = w.id)"
            )
        )
        assert wrong == 0
