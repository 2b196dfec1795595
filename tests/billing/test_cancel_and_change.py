from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.billing.helpers import deploy_workload, subscribe_at
from tests.support import Account, balance, clock_at, count, credit, make_plan

APRIL = datetime(2027, 4, 1, 0, 0, tzinfo=UTC)


async def _cancel(
    client: httpx.AsyncClient, account: Account, at: datetime, confirm: str | None = None
) -> httpx.Response:
    params = {"confirm": confirm} if confirm else {}
    with clock_at(lambda: at):
        return await client.delete(
            "/api/containers/subscription", headers=account.headers, params=params
        )


async def test_cancellation_refuses_without_confirmation_then_refunds_to_the_cent(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=3000)
    await credit(db, org, 3000)
    await subscribe_at(client, alice, plan, APRIL)
    project, _ = await deploy_workload(easypanel, db, org)
    at = datetime(2027, 4, 11, 8, 0, tzinfo=UTC)

    refused = await _cancel(client, alice, at)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "SUBSCRIPTION_HAS_RESOURCES"
    assert error["details"]["projects"] == ["test-user-s-organization"]
    assert sorted(error["details"]["services"]) == ["db", "web"]
    assert await balance(db, org) == 0

    wrong = await _cancel(client, alice, at, confirm="someone-else")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "CONFIRMATION_MISMATCH")
    assert await balance(db, org) == 0

    done = await _cancel(client, alice, at, confirm=error["details"]["confirm"])
    assert done.status_code == 202, done.text
    body = done.json()
    # 19 days 16 hours of a 30-day April are unused: 3000 * 1699200 / 2592000 = 1966.67
    assert body["refundAmount"] == "19.67"
    assert (body["projectsDeleted"], body["servicesDeleted"]) == (1, 2)
    assert body["walletCredited"] is True
    assert body["pendingDeletions"] == 1
    assert await balance(db, org) == 1967
    state = easypanel.controller.snapshot()
    assert project not in state["projects"]
    assert state["services"] == {}
    assert [u["email"] for u in state["users"].values() if not u.get("admin")] == []
    assert await count(db, "container_projects", organization_id=org) == 0
    assert await count(db, "container_services", organization_id=org) == 0
    gone = await client.get("/api/containers/subscription", headers=alice.headers)
    assert gone.status_code == 404


async def test_cancelling_with_nothing_deployed_needs_no_confirmation(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=3000)
    await credit(db, org, 3000)
    await subscribe_at(client, alice, plan, APRIL)
    async with db() as session:
        await session.execute(
            text("DELETE FROM container_projects WHERE organization_id = :o"), {"o": org}
        )
        await session.commit()
    done = await _cancel(client, alice, APRIL + timedelta(days=15))
    assert done.status_code == 202
    assert done.json()["refundAmount"] == "15.00"
    assert done.json()["projectsDeleted"] == 0


async def test_plan_change_is_prorated_to_the_cent_and_cancellation_refunds_the_rest(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    starter = await make_plan(db, price_cents=1000)
    pro = await make_plan(db, price_cents=2500, name="Pro")
    await credit(db, org, 5000)
    await subscribe_at(client, alice, starter, APRIL)
    with clock_at(lambda: datetime(2027, 4, 16, tzinfo=UTC)):
        changed = await client.put(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(pro)}
        )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["credited"], changed.json()["charged"]) == ("5.00", "12.50")
    assert changed.json()["subscription"]["plan"]["name"] == "Pro"
    assert changed.json()["subscription"]["currentPeriodEnd"] == "2027-05-01T00:00:00Z"
    assert await balance(db, org) == 5000 - 1000 + 500 - 1250

    cancelled = await _cancel(
        client, alice, datetime(2027, 4, 21, tzinfo=UTC), confirm="test-user-s-organization"
    )
    # the Pro cycle covers Apr 16 - May 1 (1250); 10 of its 15 days are unused: 833.33
    assert cancelled.json()["refundAmount"] == "8.33"
    assert await balance(db, org) == 3250 + 833
    async with db() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT amount_cents, refunded_cents FROM container_billing_cycles"
                    " WHERE organization_id = :o ORDER BY billing_period_start"
                ),
                {"o": org},
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1000, 500), (1250, 833)]


async def test_downgrade_below_usage_is_refused_listing_the_quotas(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    big = await make_plan(db, price_cents=2000, cpu="4", memory_gb="8", containers=10)
    tiny = await make_plan(db, price_cents=500, cpu="0.5", memory_gb="4", containers=1, name="Tiny")
    await credit(db, org, 5000)
    await subscribe_at(client, alice, big, APRIL)
    await deploy_workload(easypanel, db, org)
    with clock_at(lambda: APRIL + timedelta(days=3)):
        refused = await client.put(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(tiny)}
        )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "PLAN_TOO_SMALL"
    assert refused.json()["error"]["details"]["exceeded"] == [
        {"quota": "cpuCores", "used": 1.0, "limit": 0.5},
        {"quota": "containers", "used": 2, "limit": 1},
    ]
    assert await balance(db, org) == 3000
