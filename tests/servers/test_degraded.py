"""A down server degrades only its own customers: their reads show what was recorded with a
`degraded` note, their logs say SERVER_DOWN, their changes wait (attempts unspent) and run when
the server is back; the customers of the other server see nothing of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.servers.health import check_servers
from tests.conftest import runner_of
from tests.servers.fleet import add_server, customer, placed_on, subscribe
from tests.servers.test_pages import _browser
from tests.support import Account, clock_at, make_plan, services_url

NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}


@dataclass(frozen=True)
class Tenant:
    account: Account
    services: str
    """The services collection of the tenant's project."""
    project: str
    """The project's name on Easypanel."""


async def _tenant(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    plan: uuid.UUID,
    emulator: RunningEmulator,
) -> Tenant:
    """A customer subscribed (placed by the fleet) with one app deployed and running."""
    account = await customer(client, db)
    assert (await subscribe(client, account, plan)).status_code == 201
    services = await services_url(client, account)
    deployed = await client.post(f"{services}/app", headers=account.headers, json=NGINX)
    assert deployed.status_code == 202, deployed.text
    [project] = (await client.get("/api/containers/projects", headers=account.headers)).json()
    emulator.controller.advance(30)
    return Tenant(account, services, project["easypanelProjectName"])


async def _take_down(db: async_sessionmaker[AsyncSession], emulator: RunningEmulator) -> None:
    emulator.controller.fail("*", times=10_000, status=503)
    for _ in range(3):
        await check_servers(db)


async def _recorded(db: async_sessionmaker[AsyncSession], tenant: Tenant) -> str:
    async with db() as session:
        value = await session.scalar(
            text("SELECT status FROM container_services WHERE organization_id = :org"),
            {"org": tenant.account.organization_id},
        )
    return str(value)


async def _operation(db: async_sessionmaker[AsyncSession], kind: str) -> dict[str, Any]:
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status, attempts, last_error_code, last_error FROM easypanel_operations"
                    " WHERE kind = :kind"
                ),
                {"kind": kind},
            )
        ).one()
    return dict(row._mapping)


def _later(minutes: int) -> Callable[[], datetime]:
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    return lambda: at


async def test_a_down_server_degrades_only_its_own_customers(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = uuid.UUID((await add_server(client, admin, big_server, "eu-1"))["id"])
    small = uuid.UUID((await add_server(client, admin, small_server, "eu-2"))["id"])
    plan = await make_plan(db, cpu="2", memory_gb="4", storage_gb=20)
    alice = await _tenant(client, db, plan, big_server)
    bob = await _tenant(client, db, plan, small_server)
    assert (await placed_on(db, alice.account), await placed_on(db, bob.account)) == (big, small)
    before = await client.get(f"{alice.services}/web", headers=alice.account.headers)
    assert (before.json()["status"], before.json()["degraded"]) == ("running", None)

    await _take_down(db, big_server)

    recorded = await _recorded(db, alice)
    headers = alice.account.headers
    shown = await client.get(f"{alice.services}/web", headers=headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["status"] == recorded
    degraded = body["degraded"]
    assert degraded["server"] == "eu-1"
    assert degraded["since"] is not None
    assert degraded["message"].startswith("Easypanel server eu-1 is not answering; what you see")
    assert "your changes are queued and run when it is back" in degraded["message"]
    listed = await client.get(alice.services, headers=headers)
    assert listed.status_code == 200
    assert [(s["status"], s["degraded"]) for s in listed.json()] == [(recorded, degraded)]
    project = await client.get(alice.services.removesuffix("/services"), headers=headers)
    assert project.status_code == 200
    assert project.json()["degraded"] == degraded
    assert [s["status"] for s in project.json()["services"]] == [recorded]
    logs = await client.get(f"{alice.services}/web/logs", headers=headers)
    assert logs.status_code == 503
    error = logs.json()["error"]
    assert error["code"] == "SERVER_DOWN"
    assert error["message"].startswith("Easypanel server eu-1 is not answering")

    other = await client.get(f"{bob.services}/web", headers=bob.account.headers)
    assert (other.status_code, other.json()["status"], other.json()["degraded"]) == (
        200,
        "running",
        None,
    )
    other_project = await client.get(
        bob.services.removesuffix("/services"), headers=bob.account.headers
    )
    assert other_project.json()["degraded"] is None
    other_logs = await client.get(f"{bob.services}/web/logs", headers=bob.account.headers)
    assert other_logs.status_code == 200

    await _browser(client, alice.account)
    page = await client.get(f"/projects/{alice.project}/services/web")
    assert page.status_code == 200
    assert 'data-degraded="eu-1"' in page.text
    assert 'data-degraded="eu-1"' in (await client.get(f"/projects/{alice.project}")).text
    box = await client.get(f"/projects/{alice.project}/services/web/logs")
    assert box.status_code == 200  # the page's log box says why, and keeps asking
    assert "Easypanel server eu-1 is not answering" in box.text
    await _browser(client, bob.account)
    assert "data-degraded" not in (await client.get(f"/projects/{bob.project}/services/web")).text
    assert "data-degraded" not in (await client.get(f"/projects/{bob.project}")).text


async def test_a_read_the_server_fails_is_degraded_not_an_error(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    fresh: None,
) -> None:
    await add_server(client, admin, big_server, "eu-1")
    plan = await make_plan(db, cpu="2", memory_gb="4", storage_gb=20)
    alice = await _tenant(client, db, plan, big_server)
    big_server.controller.fail("*", times=10_000, status=503)

    shown = await client.get(f"{alice.services}/web", headers=alice.account.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == await _recorded(db, alice)
    assert shown.json()["degraded"]["server"] == "eu-1"


async def test_changes_on_a_down_server_wait_unspent_and_run_when_it_is_back(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    fresh: None,
) -> None:
    await add_server(client, admin, big_server, "eu-1")
    plan = await make_plan(db, cpu="2", memory_gb="4", storage_gb=20)
    alice = await _tenant(client, db, plan, big_server)
    assert big_server.controller.tasks(alice.project, "web")[0] == 1
    await _take_down(db, big_server)

    stopped = await client.post(f"{alice.services}/web/stop", headers=alice.account.headers)
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["operation"]["status"] == "pending"
    held = await _operation(db, "easypanel.service.stop")
    assert (held["status"], held["attempts"], held["last_error_code"]) == (
        "pending",
        0,
        "SERVER_DOWN",
    )
    assert held["last_error"] == "Easypanel server eu-1 is down; this runs when it is back"
    for minutes in (2, 30, 600):
        with clock_at(_later(minutes)):
            await runner_of(client).run_due()
    assert (await _operation(db, "easypanel.service.stop"))["attempts"] == 0
    assert big_server.controller.tasks(alice.project, "web")[0] == 1

    big_server.controller.clear_faults()
    report = await check_servers(db)
    assert len(report.recovered) == 1
    await runner_of(client).run_due()
    done = await _operation(db, "easypanel.service.stop")
    assert (done["status"], done["attempts"], done["last_error_code"]) == ("succeeded", 1, None)
    assert big_server.controller.tasks(alice.project, "web")[0] == 0
    assert await _recorded(db, alice) == "stopped"
