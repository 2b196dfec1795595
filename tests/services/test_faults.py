"""Easypanel failing at each step of deploy and delete: after retries, the database and the
emulator agree (no record without a resource, no resource without a record)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.conftest import runner_of
from tests.support import Account, clock_at, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"


async def _settle(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for minutes in (1, 3, 10, 30, 90):
        with clock_at(lambda m=minutes: now + timedelta(minutes=m)):
            await runner_of(client).run_due()


async def _records(db: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with db() as session:
        rows = await session.execute(text("SELECT service_name, status FROM container_services"))
        return {name: status for name, status in rows}


@pytest.mark.parametrize(
    ("step", "body"),
    [
        (
            "services.app.createService",
            {"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
        ),
        (
            "services.app.deployService",
            {"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
        ),
        ("services.postgres.createService", {"serviceName": "web", "type": "postgres"}),
    ],
)
async def test_deploy_survives_a_failing_step(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    step: str,
    body: dict[str, object],
) -> None:
    await subscribed(client, db, alice)
    easypanel.controller.fail(step, times=2, status=503)
    kind = "database" if "type" in body else "app"
    created = await client.post(f"{SERVICES}/{kind}", headers=alice.headers, json=body)
    assert created.status_code == 202
    assert created.json()["status"] == "creating"
    await _settle(client)
    assert (await _records(db))["web"] in ("deploying", "running")
    assert easypanel.controller.service(EP, "web") is not None


@pytest.mark.parametrize("status", [503, 500])
async def test_delete_survives_a_failing_step(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    status: int,
) -> None:
    await subscribed(client, db, alice)
    await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    easypanel.controller.fail("services.app.destroyService", times=2, status=status)
    deleting = await client.delete(f"{SERVICES}/web", headers=alice.headers)
    assert deleting.json()["status"] == "deleting"
    assert await _records(db) == {"web": "deleting"}
    await _settle(client)
    assert await _records(db) == {}
    assert easypanel.controller.service(EP, "web") is None


async def test_a_deploy_that_fails_for_good_keeps_the_record_visible(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    easypanel.controller.fail(
        "services.app.createService", times=1, status=400, message="Invalid image"
    )
    created = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    assert created.json()["status"] == "creating"
    assert created.json()["operation"]["status"] == "pending"
    failed = (await client.get(f"{SERVICES}/web", headers=alice.headers)).json()
    assert failed["status"] == "failed"
    assert failed["lastError"].startswith("Creating the app failed: ")
    assert failed["lastError"].endswith("Invalid image")
    assert easypanel.controller.service(EP, "web") is None
    removed = await client.delete(f"{SERVICES}/web", headers=alice.headers)
    assert removed.json()["status"] == "deleting"
    assert (await client.get(f"{SERVICES}/web", headers=alice.headers)).status_code == 404
    assert await _records(db) == {}
