"""Dunning over simulated time: each step of an unpaid month is told once, however often the
billing run and the dunning sweep run, and a subscription left suspended is terminated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import dunning
from skypanel.billing import service as billing
from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.kit.periods import add_months
from skypanel.models import ActivityLog, ContainerSubscription, EasypanelServer, Event
from skypanel.notices.kinds import KINDS
from skypanel.wiring import mailer_for
from tests.billing.helpers import bill_at, deploy_workload, subscribe_at
from tests.conftest import runner_of
from tests.mailbox import Mailbox, running_mailbox
from tests.support import (
    Account,
    clock_at,
    count,
    credit,
    make_plan,
    services_url,
    subscribed,
)

ANCHOR = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
SEQUENCE = [
    "subscription.renewal_reminder",
    "subscription.renewal_failed",
    "subscription.suspension_tomorrow",
    "subscription.suspended",
    "subscription.termination_warning",
    "subscription.terminated",
]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def sweep_at(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], at: datetime
) -> dunning.DunningReport:
    """A dunning sweep at `at`, the deletions it queued delivered at once."""
    with clock_at(lambda: at):
        report = await dunning.run(sessions, batch=50)
        await runner_of(client).run_all(report.operations)
    return report


async def unpaid_month(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    anchor: datetime,
    step: timedelta,
) -> datetime:
    """From a month paid at `anchor` to well past the termination of an unpaid renewal: the
    billing run and the sweep every `step`, each twice. Returns the last moment."""
    at = anchor
    end = add_months(anchor, 1) + timedelta(days=19)
    while at < end:
        for _ in range(2):
            await bill_at(client, sessions, at)
            await sweep_at(client, sessions, at)
        at += step
    return at


def told(mailbox: Mailbox, address: str) -> list[str]:
    """The billing messages `address` received, by kind (in no particular order: a batch is
    sent in the order the database returns it)."""
    return [
        str(m["X-SkyPanel-Event"])
        for m in mailbox.to(address)
        if str(m["X-SkyPanel-Event"]).startswith(("subscription.", "wallet."))
    ]


async def _events(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> list[Event]:
    """The events the organization's people were told of (not the ones only for webhooks)."""
    told = [kind for kind in KINDS if kind != "account.email_verification"]
    async with db() as session:
        return list(
            await session.scalars(
                select(Event)
                .where(Event.organization_id == org, Event.type.in_(told))
                .order_by(Event.occurred_at)
            )
        )


async def test_an_unpaid_month_tells_each_step_once_and_ends_in_termination(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    easypanel: RunningEmulator,
    server: EasypanelServer,
    mailbox: Mailbox,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    project, _ = await deploy_workload(easypanel, db, org)

    end = await unpaid_month(client, db, ANCHOR, timedelta(hours=6))

    events = await _events(db, org)
    assert [e.type for e in events] == SEQUENCE
    reminder, failed, tomorrow, suspended, warning, terminated = (e.data for e in events)
    assert reminder == {
        "plan": "Starter",
        "amount": "$10.00",
        "balance": "$0.00",
        "covered": False,
        "renews_on": "Apr 10, 2027",
    }
    assert failed == {
        "plan": "Starter",
        "amount": "$10.00",
        "balance": "$0.00",
        "grace_until": "Apr 13, 2027",
    }
    assert tomorrow == {"plan": "Starter", "amount": "$10.00", "grace_until": "Apr 13, 2027"}
    assert suspended == {"plan": "Starter", "amount": "$10.00", "terminates_on": "Apr 27, 2027"}
    assert warning == {
        "plan": "Starter",
        "amount": "$10.00",
        "suspended_on": "Apr 13, 2027",
        "terminates_on": "Apr 27, 2027",
    }
    assert terminated == {"plan": "Starter", "days": 14}

    async with db() as session:
        subscription = await session.scalar(
            select(ContainerSubscription).where(ContainerSubscription.organization_id == org)
        )
        actions = list(
            await session.scalars(
                select(ActivityLog.event_type).where(
                    ActivityLog.organization_id == org,
                    ActivityLog.event_type.like("container.subscription.%"),
                )
            )
        )
    assert subscription is not None
    assert subscription.status == "cancelled"
    assert actions.count("container.subscription.terminate") == 1
    assert "container.subscription.cancel" not in actions
    state = easypanel.controller.snapshot()
    assert project not in state["projects"]
    assert state["services"] == {}
    assert await count(db, "container_projects", organization_id=org) == 0
    assert await count(db, "container_billing_cycles", organization_id=org, status="failed") == 0

    mailer = mailer_for(db, settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)}))
    with clock_at(lambda: end):
        await mailer.deliver_due()
        assert await mailer.deliver_due() == 0
    assert sorted(told(mailbox, alice.email)) == sorted(SEQUENCE)
    [last] = [m for m in mailbox.to(alice.email) if m["X-SkyPanel-Event"] == SEQUENCE[-1]]
    assert last["Subject"] == "Your services were deleted"
    assert "stayed unpaid for 14 days" in Mailbox.text(last)


async def test_a_covered_renewal_is_reminded_with_the_forecast_then_renewed(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    bob: Account,
) -> None:
    org = bob.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 2500)
    await subscribe_at(client, bob, plan, ANCHOR)
    renewal = add_months(ANCHOR, 1)

    assert (await sweep_at(client, db, renewal - timedelta(days=3, hours=1))).terminated == 0
    assert await _events(db, org) == []
    for _ in range(2):
        await sweep_at(client, db, renewal - timedelta(days=2))
        await bill_at(client, db, renewal + timedelta(minutes=5))

    events = await _events(db, org)
    assert [e.type for e in events] == [
        "subscription.renewal_reminder",
        "wallet.low_balance",
        "subscription.renewed",
    ]
    assert events[0].data["covered"] is True
    assert events[0].data["balance"] == "$15.00"
    assert events[1].data == {"amount": "$10.00", "balance": "$15.00", "until": "May 10, 2027"}
    assert events[2].data == {
        "plan": "Starter",
        "amount": "$10.00",
        "period": "Apr 10, 2027 to May 10, 2027",
    }


async def test_a_top_up_resumes_before_termination_and_plan_change_and_cancel_are_told(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    pro = await make_plan(db, price_cents=3000, name="Pro")
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    renewal = add_months(ANCHOR, 1)
    await bill_at(client, db, renewal)
    suspended_at = renewal + timedelta(days=3, hours=1)
    await bill_at(client, db, suspended_at)

    await credit(db, org, 10_000)
    paid_at = suspended_at + timedelta(days=13)
    with clock_at(lambda: paid_at):
        resumed = await billing.after_credit(db, org)
        await runner_of(client).run_all(resumed.operations)
    assert resumed.resumed == 1
    assert (await sweep_at(client, db, suspended_at + timedelta(days=15))).terminated == 0

    changed_at = paid_at + timedelta(days=1)
    with clock_at(lambda: changed_at):
        changed = await client.put(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(pro)}
        )
        assert changed.status_code == 200, changed.text
        refused = await client.delete("/api/containers/subscription", headers=alice.headers)
        confirm = {"confirm": refused.json()["error"]["details"]["confirm"]}
        cancelled = await client.delete(
            "/api/containers/subscription", headers=alice.headers, params=confirm
        )
        assert cancelled.status_code == 202, cancelled.text

    events = await _events(db, org)
    assert [e.type for e in events] == [
        "subscription.renewal_failed",
        "subscription.suspended",
        "subscription.resumed",
        "subscription.plan_changed",
        "subscription.cancelled",
    ]
    assert events[3].data == {"plan": "Pro", "previous": "Starter"}
    assert events[4].data == {"plan": "Pro", "refund": f"${cancelled.json()['refundAmount']}"}


async def test_a_failed_deploy_and_a_quota_past_80_percent_are_told_once(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await subscribed(client, db, alice, cpu="2", memory_gb="4", containers=5)
    services = await services_url(client, alice)
    easypanel.controller.fail(
        "services.app.createService", times=1, status=400, message="Invalid image"
    )
    small = {"resources": {"cpuCores": "0.5", "memoryGb": "1", "storageGb": "1"}}
    broken = await client.post(
        f"{services}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}, **small},
    )
    assert broken.status_code == 202, broken.text
    big = {"resources": {"cpuCores": "1.2", "memoryGb": "1", "storageGb": "1"}}
    grown = await client.post(
        f"{services}/app",
        headers=alice.headers,
        json={"serviceName": "api", "source": {"type": "image", "image": "nginx"}, **big},
    )
    assert grown.status_code == 202, grown.text

    events = await _events(db, org)
    assert [(e.type, e.data) for e in events] == [
        (
            "service.deploy_failed",
            {
                "service": "web",
                "project": "test-user-s-organization",
                "reason": events[0].data["reason"],
            },
        ),
        (
            "quota.warning",
            {
                "percent": 85,
                "resource": "vCPU",
                "used": "1.7 vCPU",
                "limit": "2 vCPU",
                "plan": "Starter",
            },
        ),
    ]
    assert events[0].data["reason"].endswith("Invalid image")
