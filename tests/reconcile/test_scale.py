"""Reconciliation of large servers: bounded memory (listings taken in turn, two servers at most,
each compared as it arrives and never read whole, listings audited abridged), and a project of
many services settled service by service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import _transport
from skypanel.easypanel._transport import Transport
from skypanel.emulator import RunningEmulator, running_emulator
from skypanel.models import EasypanelServer
from skypanel.reconcile.service import reconcile
from skypanel.servers.clients import ClientPool
from tests.conftest import runner_of
from tests.servers.fleet import add_server
from tests.support import Account, make_admin, subscribed

LISTING = "projects.listProjectsAndServices"
IMAGE = {"type": "image", "image": "nginx:1.27"}


@pytest.fixture(scope="module")
def three() -> Iterator[list[RunningEmulator]]:
    with (
        running_emulator(token="fleet-a-token", manual_clock=True) as a,
        running_emulator(token="fleet-b-token", manual_clock=True) as b,
        running_emulator(token="fleet-c-token", manual_clock=True) as c,
    ):
        yield [a, b, c]


def _listed(emulators: list[RunningEmulator]) -> int:
    return sum(len(e.controller.requests(LISTING)) for e in emulators)


async def test_servers_are_listed_in_turn_and_two_at_most(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    three: list[RunningEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("skypanel.reconcile._listing.PATIENCE", 1.5)
    admin = await make_admin(live_client, committed)
    for number, emulator in enumerate(three):
        emulator.controller.reset()
        await add_server(live_client, admin, emulator, f"eu-{number}")
        emulator.controller.clear_requests()
        emulator.controller.hang(LISTING, times=1, seconds=30)
    pool = ClientPool(committed)
    run = asyncio.create_task(reconcile(committed, pool))
    try:
        await _until_listed(three, 1)
        await asyncio.sleep(0.5)  # well within the first one's patience (1.5 s here)
        assert _listed(three) == 1
        await _until_listed(three, 2)  # its patience ran out: the next one goes ahead
        await asyncio.sleep(0.5)  # time for a third listing to start, were it allowed to
        assert _listed(three) == 2
    finally:
        for emulator in three:
            emulator.controller.clear_faults()  # the hung ones answer 504 and are asked again
        await run
        await pool.aclose()
    assert all(e.controller.requests(LISTING) for e in three)  # the third once one was done
    for emulator in three:
        emulator.controller.reset()


async def _until_listed(emulators: list[RunningEmulator], count: int) -> None:
    for _ in range(400):
        if _listed(emulators) >= count:
            return
        await asyncio.sleep(0.025)


def _stranger(count: int) -> dict[str, Any]:
    """A project outside SkyPanel's namespace: listed, neither imported nor reported."""
    services = [
        {"type": "app", "serviceName": f"app-{n}", "source": IMAGE, "env": "KEY=secret"}
        for n in range(count)
    ]
    return {"projects": [{"name": "stranger", "services": services}]}


async def test_a_listing_is_audited_abridged_and_redacted(
    db: async_sessionmaker[AsyncSession], easypanel: RunningEmulator, server: EasypanelServer
) -> None:
    assert easypanel.controller.seed(_stranger(150)) == 150
    pool = ClientPool(db)
    try:
        report = await reconcile(db, pool)
    finally:
        await pool.aclose()
    async with db() as session:
        audited = (
            await session.execute(
                text("SELECT response_data FROM easypanel_audit_log WHERE operation = :listing"),
                {"listing": LISTING},
            )
        ).scalar_one()

    assert (report.imported, report.missing, report.unknown_projects) == ([], [], [])
    services = audited["services"]
    assert len(services) == 101
    assert services[-1] == {"[omitted]": 50}
    assert [s["name"] for s in services[:3]] == ["app-0", "app-1", "app-2"]
    assert {(s["env"], s["token"]) for s in services[:-1]} == {("KEY=[redacted]", "[redacted]")}
    assert [p["name"] for p in audited["projects"]] == ["stranger"]


async def _records(db: async_sessionmaker[AsyncSession], account: Account, names: list[str]) -> str:
    """Running app records in the account's project; returns the project's Easypanel name."""
    async with db() as session:
        project_id, project, server_id = (
            await session.execute(
                text(
                    "SELECT id, easypanel_project_name, server_id FROM container_projects"
                    " WHERE organization_id = :org"
                ),
                {"org": account.organization_id},
            )
        ).one()
        await session.execute(
            text(
                "INSERT INTO container_services (id, project_id, organization_id, server_id,"
                " service_name, easypanel_service_name, swarm_name, service_type, status,"
                " desired_state, cpu_limit, memory_limit_gb, storage_limit_gb, configuration,"
                " created_at, updated_at)"
                " SELECT gen_random_uuid(), :project_id, :org, :server_id, name, name,"
                " :project || '_' || name, 'app', 'running', 'running', 0.25, 0.5, 1, '{}',"
                " now(), now() FROM unnest(CAST(:names AS text[])) AS name"
            ),
            {
                "project_id": project_id,
                "org": account.organization_id,
                "server_id": server_id,
                "project": project,
                "names": names,
            },
        )
        await session.commit()
    return str(project)


def _app(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "app", "serviceName": name, "source": IMAGE, **extra}


async def test_a_large_project_is_reconciled_service_by_service(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, containers=500)
    names = [f"svc-{n}" for n in range(300)]
    project = await _records(db, alice, names)
    privileged = {"edit": {"deploy": {"privileged": True}}}
    listed = [_app(n, **(privileged if n in ("svc-3", "svc-4") else {})) for n in names[3:]]
    easypanel.controller.reset()
    easypanel.controller.seed(
        {"projects": [{"name": project, "services": [*listed, _app("rogue-1"), _app("rogue-2")]}]}
    )

    runner = runner_of(client)
    report = await reconcile(db, runner.clients)
    await runner.run_all(report.operations)

    assert sorted(report.missing) == [f"{project}/svc-{n}" for n in range(3)]
    assert sorted(report.imported) == [f"{project}/rogue-1", f"{project}/rogue-2"]
    assert sorted(report.stopped_unsafe) == [f"{project}/svc-3", f"{project}/svc-4"]
    assert (report.unknown_projects, len(report.operations)) == ([], 2)
    async with db() as session:
        statuses = dict(
            (
                await session.execute(
                    text(
                        "SELECT status || '/' || desired_state, count(*) FROM container_services"
                        " GROUP BY 1"
                    )
                )
            ).all()
        )
    assert statuses == {"missing/running": 3, "stopped/stopped": 2, "running/running": 297}
    assert [easypanel.controller.tasks(project, n)[0] for n in ("svc-3", "svc-4", "svc-5")] == [
        0,
        0,
        1,
    ]


async def test_a_listing_is_compared_as_it_arrives_never_read_whole(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server's listing is the biggest answer a run gets: it never goes through `call` (which
    returns an answer whole), its body is not read into one piece (neither by the transport nor
    by httpx's `aread`), yet every entry is judged."""
    await subscribed(client, db, alice, containers=50)
    names = [f"svc-{n}" for n in range(40)]
    project = await _records(db, alice, names)
    easypanel.controller.reset()
    listed = [_app(n) for n in names[1:]]
    easypanel.controller.seed(
        {"projects": [{"name": project, "services": [*listed, _app("rogue")]}]}
    )
    called: list[str] = []
    read_whole: list[str] = []
    call, aread, whole = Transport.call, httpx.Response.aread, _transport._whole

    async def recorded_call(transport: Transport, procedure: str, *args: Any, **kw: Any) -> Any:
        called.append(procedure)
        return await call(transport, procedure, *args, **kw)

    async def recorded_aread(response: httpx.Response) -> bytes:
        read_whole.append(response.request.url.path)
        return await aread(response)

    async def recorded_whole(response: httpx.Response) -> Any:
        read_whole.append(response.request.url.path)
        return await whole(response)

    monkeypatch.setattr(Transport, "call", recorded_call)
    monkeypatch.setattr(httpx.Response, "aread", recorded_aread)
    monkeypatch.setattr(_transport, "_whole", recorded_whole)

    report = await reconcile(db, runner_of(client).clients)

    assert len(easypanel.controller.requests(LISTING)) == 1
    assert LISTING not in called
    assert "/api/rpc/projects/listProjectsAndServices" not in read_whole
    assert (report.missing, report.imported) == ([f"{project}/svc-0"], [f"{project}/rogue"])


async def test_a_malformed_listing_changes_nothing(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    project = await _records(db, alice, ["gone", "web"])
    easypanel.controller.reset()
    easypanel.controller.seed(
        {"projects": [{"name": project, "services": [_app("web", edit={"name": 5})]}]}
    )

    report = await reconcile(db, runner_of(client).clients)

    assert (report.missing, report.imported, report.stopped_unsafe) == ([], [], [])
    async with db() as session:
        statuses = set((await session.scalars(text("SELECT status FROM container_services"))).all())
    assert statuses == {"running"}
