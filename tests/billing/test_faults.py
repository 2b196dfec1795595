"""Easypanel failing at each step of provisioning and of cancellation: once it recovers, the
ledger is exact and nothing on Easypanel is left without a record (or the other way round)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.billing.helpers import deploy_workload, subscribe_at
from tests.conftest import runner_of
from tests.support import (
    Account,
    balance,
    clock_at,
    count,
    credit,
    customer_logins_on,
    make_plan,
)

START = datetime(2027, 9, 1, tzinfo=UTC)
PROVISIONING_STEPS = ["users.createUser", "projects.createProject", "projects.updateAccess"]
CANCELLATION_STEPS = [
    "projects.inspectProject",
    "services.app.destroyService",
    "services.postgres.destroyService",
    "projects.destroyProject",
    "users.listUsers",
    "users.destroyUser",
]


async def _settle(client: httpx.AsyncClient, since: datetime) -> None:
    """Let the worker retry everything due over the next hours."""
    runner = runner_of(client)
    for minutes in (1, 2, 5, 10, 20, 40, 80, 160, 320):
        with clock_at(lambda m=minutes: since + timedelta(minutes=m)):
            await runner.run_due()


@pytest.mark.parametrize("step", PROVISIONING_STEPS)
@pytest.mark.parametrize("status", [503, 500, 429])
async def test_provisioning_survives_a_failing_step(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    step: str,
    status: int,
) -> None:
    org = alice.organization_id
    await customer_logins_on(db)
    plan = await make_plan(db, price_cents=1200)
    await credit(db, org, 2000)
    easypanel.controller.fail(step, times=3, status=status)
    body = await subscribe_at(client, alice, plan, START)
    assert body["subscription"]["status"] == "active"  # type: ignore[index]
    await _settle(client, START)

    current = (await client.get("/api/containers/subscription", headers=alice.headers)).json()
    assert current["provisioningStatus"] == "ready"
    assert await balance(db, org) == 800
    assert await count(db, "payment_transactions", organization_id=org, kind="debit") == 1
    state = easypanel.controller.snapshot()
    assert list(state["projects"]) == ["test-user-s-organization"]
    customers = [u for u in state["users"].values() if not u.get("admin")]
    assert len(customers) == 1
    assert easypanel.controller.access("test-user-s-organization") == [customers[0]["id"]]
    assert await count(db, "easypanel_operations", organization_id=org, status="succeeded") == 2


@pytest.mark.parametrize("step", CANCELLATION_STEPS)
async def test_cancellation_survives_a_failing_step(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    step: str,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=3000)
    await credit(db, org, 3000)
    await subscribe_at(client, alice, plan, START)
    await deploy_workload(easypanel, db, org)
    easypanel.controller.fail(step, times=2, status=503)
    at = START + timedelta(days=15)
    with clock_at(lambda: at):
        response = await client.delete(
            "/api/containers/subscription",
            headers=alice.headers,
            params={"confirm": "test-user-s-organization"},
        )
    assert response.status_code == 202
    assert response.json()["refundAmount"] == "15.00"
    await _settle(client, at)

    assert await balance(db, org) == 1500
    assert await count(db, "payment_transactions", organization_id=org, kind="refund") == 1
    state = easypanel.controller.snapshot()
    assert state["projects"] == {}
    assert state["services"] == {}
    assert [u for u in state["users"].values() if not u.get("admin")] == []
    assert await count(db, "container_projects", organization_id=org) == 0
    assert await count(db, "easypanel_operations", organization_id=org, status="failed") == 0
