"""Exact moves: the apps that write to a database are stopped on the source for its move window
and run on the target afterwards (unless their owner stopped them), so that no write is lost;
a move that fails starts them again on the source; backup schedules are saved on the target.
Two emulated servers over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.emulator._faults import RecordedRequest
from skypanel.kit import clock
from skypanel.reconcile.service import reconcile
from skypanel.services import health
from skypanel.services.status import Timing
from tests.backups.s3 import S3Server, s3_server
from tests.conftest import _app, runner_of
from tests.servers.test_moves import (
    DATA,
    ORGS,
    _operations,
    _placed_app,
    _services,
    _sweep_at,
    _with_database,
)
from tests.support import Account, make_admin, services_url

TIMING = Timing(settle=10.0, start_window=180.0, down_grace=30.0)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


async def _move(client: httpx.AsyncClient, admin: Account, account: Account, target: str) -> None:
    started = await client.post(
        f"{ORGS}/{account.organization_id}/move",
        headers=admin.headers,
        json={"serverId": target, "dryRun": False},
    )
    assert started.status_code == 202, started.text


async def _state(client: httpx.AsyncClient, admin: Account, account: Account) -> tuple[str, int]:
    [move] = (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json()
    return move["state"], move["stepsDone"]


async def test_writes_made_after_the_move_started_are_on_the_target(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    """The app on the source writes a row to its database whenever time passes (a request
    reaches either server) while it runs. The restore fails once, so the move waits in its
    window while the reconciliation and the health watch run (over committed sessions: they go
    through the servers concurrently); neither starts the app again."""
    client, db = live_client, committed
    admin = await make_admin(client, db)
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    source = big_server.controller
    rows: list[str] = []
    at_backup: list[tuple[int, int]] = []

    writing = threading.Lock()  # both servers' threads call the hook

    def app_writes(request: RecordedRequest) -> None:
        with writing:
            if request.procedure == "databaseBackups.runDatabaseBackup":
                at_backup.append(source.tasks(project, "web"))
            if source.service(project, "main-db") is None or source.tasks(project, "web")[1] == 0:
                return
            row = f"INSERT INTO orders VALUES ({len(rows) + 3});"
            rows.append(row)
            data = source.database_data(project, "main-db")
            source.set_database_data(project, "main-db", data + row)

    removers = [server.controller.on_request(app_writes) for server in (big_server, small_server)]
    small_server.controller.fail("databaseBackups.restoreDatabaseBackup", status=504)
    try:
        await _move(client, admin, account, target)
        state = _app(client).state
        await reconcile(state.sessions, state.clients)
        source.advance(60)
        await health.watch(state.sessions, state.clients, state.cache, TIMING)
        in_window = source.tasks(project, "web")
        services = await services_url(client, account)
        start = await client.post(f"{services}/web/start", headers=account.headers)
        await _sweep_at(runner_of(client), clock.now() + timedelta(minutes=15))
    finally:
        for remove in removers:
            remove()

    assert rows != []  # written after the move started, before the app stopped
    assert at_backup == [(0, 0)]
    assert in_window == (0, 0)
    assert (start.status_code, start.json()["error"]["code"]) == (409, "MOVE_IN_PROGRESS")
    assert await _operations(db, "easypanel.service.start") == []
    assert await _state(client, admin, account) == ("done", 8)
    assert small_server.controller.database_data(project, "main-db") == DATA + "".join(rows)
    small_server.controller.advance(10)
    assert small_server.controller.tasks(project, "web") == (1, 1)
    assert len(source.requests("services.app.stopService")) == 1


async def test_an_app_its_owner_stopped_stays_stopped_on_the_target(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, _ = await _placed_app(client, db, admin, big_server, small_server)
    services = await services_url(client, account)
    assert (await client.post(f"{services}/web/stop", headers=account.headers)).status_code == 202
    route = f"{ORGS}/{account.organization_id}/move"

    dry = (await client.post(route, headers=admin.headers, json={"serverId": target})).json()
    await _move(client, admin, account, target)
    small_server.controller.advance(10)

    assert [(s["kind"], s["server"]) for s in dry["steps"]] == [
        ("project", "target"),
        ("app", "target"),
        ("stop", "target"),
        ("switch", "target"),
        ("cleanup", "source"),
    ]
    assert dry["steps"][2]["description"] == (
        f"Stop the app {project}/web on target: its owner stopped it"
    )
    assert [d["downtime"] for d in dry["downtimes"]] == [
        "none: stopped by its owner, it stays stopped on the target"
    ]
    assert small_server.controller.tasks(project, "web") == (0, 0)
    assert await _state(client, admin, account) == ("done", 5)
    async with db() as session:
        desired = await session.scalar(
            text("SELECT desired_state FROM container_services WHERE organization_id = :o"),
            {"o": account.organization_id},
        )
    assert desired == "stopped"


async def test_a_move_that_fails_before_the_switch_starts_the_stopped_apps_again(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    """`web` runs and is started again on the source; `worker`, stopped by its owner, is not."""
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    services = await services_url(client, account)
    created = await client.post(
        f"{services}/app",
        headers=account.headers,
        json={"serviceName": "worker", "source": {"type": "image", "image": "busybox"}},
    )
    assert created.status_code == 202, created.text
    big_server.controller.advance(10)
    assert (
        await client.post(f"{services}/worker/stop", headers=account.headers)
    ).status_code == 202
    small_server.controller.fail(
        "databaseBackups.restoreDatabaseBackup", status=400, message="Restore refused"
    )

    await _move(client, admin, account, target)
    big_server.controller.advance(10)

    state, _ = await _state(client, admin, account)
    assert state == "failed"
    stops = big_server.controller.requests("services.app.stopService")
    starts = big_server.controller.requests("services.app.startService")
    assert [r.input["serviceName"] for r in stops] == ["worker", "web", "worker"]
    assert [r.input["serviceName"] for r in starts] == ["web"]
    assert big_server.controller.tasks(project, "web") == (1, 1)
    assert big_server.controller.tasks(project, "worker") == (0, 0)
    assert [o["status"] for o in await _operations(db, "easypanel.service.start")] == ["succeeded"]
    assert _services(big_server, project) == ["main-db", "web", "worker"]


def _configs(emulator: RunningEmulator, kind: str) -> list[dict[str, Any]]:
    backups: dict[str, dict[str, Any]] = emulator.controller.snapshot()[kind]
    return sorted(backups.values(), key=lambda b: b["serviceName"])


async def test_backup_schedules_are_saved_again_on_the_target(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    services = await services_url(client, account)
    created = await client.post(
        f"{services}/app",
        headers=account.headers,
        json={
            "serviceName": "files",
            "source": {"type": "image", "image": "nginx"},
            "mounts": [{"name": "data", "mountPath": "/data"}],
        },
    )
    assert created.status_code == 202, created.text
    big_server.controller.advance(10)
    for url, body in (
        (f"{services}/main-db/backups/schedule", {"schedule": "0 4 * * *", "retention": 3}),
        (
            f"{services}/files/backups/volumes/data/schedule",
            {"schedule": "30 2 * * 0", "retention": 2, "enabled": False},
        ),
    ):
        saved = await client.put(url, headers=account.headers, json=body)
        assert saved.status_code == 200, saved.text
    before = {kind: _configs(big_server, kind) for kind in ("database_backups", "volume_backups")}
    dry = await client.post(
        f"{ORGS}/{account.organization_id}/move", headers=admin.headers, json={"serverId": target}
    )

    await _move(client, admin, account, target)

    schedules = [s["description"] for s in dry.json()["steps"] if s["kind"] == "schedule"]
    assert schedules == [
        f"Save the backup schedule of {project}/main-db on target (0 4 * * *, on, keeping 3)",
        f"Save the backup schedule of the volume data of {project}/files on target"
        " (30 2 * * 0, off, keeping 2)",
    ]
    assert await _state(client, admin, account) == ("done", 12)
    [provider] = small_server.controller.snapshot()["storage_providers"].values()
    for kind, kept in before.items():
        after = _configs(small_server, kind)
        assert [_without_ids(c) for c in after] == [_without_ids(c) for c in kept]
        assert [c["storageProviderId"] for c in after] == [provider["id"]]
        assert _configs(big_server, kind) == []
    async with db() as session:
        recorded = (
            await session.scalars(
                text(
                    "SELECT easypanel_backup_id FROM backup_schedules WHERE organization_id = :o"
                    " ORDER BY kind"
                ),
                {"o": account.organization_id},
            )
        ).all()
    assert recorded == [
        _configs(small_server, "database_backups")[0]["id"],
        _configs(small_server, "volume_backups")[0]["id"],
    ]
    small_server.controller.advance(10)
    [ran] = small_server.controller.run_scheduled_backups(project, "main-db")
    assert ran["status"] == "done"
    assert ran["meta"]["path"].startswith(f"orgs/{account.organization_id}/{project}/main-db/")


def _without_ids(config: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in config.items()
        if key not in ("id", "storageProviderId", "createdAt")
    }


async def test_an_app_of_another_project_that_names_the_database_stops_for_its_window(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    """`api`, in another project, has the database's internal host in its variables, `cron` in
    its project's; `static` beside `api` has neither, and moves first with no downtime."""
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    url = f"postgres://app:secret@{project}_main-db:5432/app"
    for name, env in (("edge", {}), ("jobs", {"DATABASE_URL": url})):
        created = await client.post(
            "/api/containers/projects",
            headers=account.headers,
            json={"projectName": name, "env": env},
        )
        assert created.status_code == 202, created.text
    for where, name, env in (
        ("edge", "api", {"DATABASE_URL": url}),
        ("edge", "static", {"MODE": "files"}),
        ("jobs", "cron", {}),
    ):
        made = await client.post(
            f"/api/containers/projects/{where}/services/app",
            headers=account.headers,
            json={"serviceName": name, "source": {"type": "image", "image": "nginx"}, "env": env},
        )
        assert made.status_code == 202, made.text
    async with db() as session:
        edge, jobs = (
            await session.scalars(
                text(
                    "SELECT easypanel_project_name FROM container_projects"
                    " WHERE organization_id = :o AND project_name IN ('edge', 'jobs')"
                    " ORDER BY project_name"
                ),
                {"o": account.organization_id},
            )
        ).all()

    dry = await client.post(
        f"{ORGS}/{account.organization_id}/move", headers=admin.headers, json={"serverId": target}
    )

    assert dry.status_code == 200, dry.text
    steps = [(s["kind"], s["description"].split(" on ")[0]) for s in dry.json()["steps"]]
    assert steps == [
        ("project", f"Create the project {project}"),
        ("project", f"Create the project {edge}"),
        ("project", f"Create the project {jobs}"),
        ("app", f"Recreate the app {edge}/static"),
        ("stop", f"Stop the app {project}/web"),
        ("stop", f"Stop the app {edge}/api"),
        ("stop", f"Stop the app {jobs}/cron"),
        ("backup", f"Back up the database {project}/main-db"),
        ("database", f"Create the database {project}/main-db"),
        ("restore", f"Restore the backup into {project}/main-db"),
        ("app", f"Recreate the app {project}/web"),
        ("app", f"Recreate the app {edge}/api"),
        ("app", f"Recreate the app {jobs}/cron"),
        ("switch", "Switch the records and the published ports to target"),
        *[
            ("cleanup", f"Remove the project {p} and its services from source")
            for p in (project, edge, jobs)
        ],
    ]
    downtimes = {d["service"]: d["downtime"] for d in dry.json()["downtimes"]}
    assert downtimes["static"] == "none: recreated before the switch"
    assert downtimes["api"] == downtimes["cron"] == downtimes["web"]
    assert downtimes["main-db"] == (
        "from the backup's start to the restore's end; web, api and cron stop on source"
        " meanwhile, so no write is lost"
    )


async def test_an_app_gone_from_the_source_does_not_hold_up_the_move(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    """Deleted in Easypanel meanwhile, `web` writes nothing: its stop counts as done, and it is
    recreated on the target from its record."""
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    world = big_server.controller.world
    with world.lock:
        world.remove_service(project, "web")

    await _move(client, admin, account, target)
    small_server.controller.advance(10)

    assert await _state(client, admin, account) == ("done", 8)
    [stop] = big_server.controller.requests("services.app.stopService")
    assert stop.status == 400
    assert small_server.controller.tasks(project, "web") == (1, 1)
    assert small_server.controller.database_data(project, "main-db") == DATA
