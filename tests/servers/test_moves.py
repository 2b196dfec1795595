"""Moving an organization to another server: the dry run, the move, and a move resumed after
its delivery broke in the middle. Two emulated servers over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.operations.service import LEASE, Runner
from skypanel.web import cookies
from tests.backups.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server
from tests.conftest import runner_of
from tests.servers.fleet import SERVERS, add_server, customer, subscribe
from tests.servers.test_pages import _browser
from tests.support import (
    Account,
    clock_at,
    count,
    customer_logins_on,
    make_plan,
    services_url,
)

ORGS = "/api/containers/admin/organizations"
DATA = "INSERT INTO orders VALUES (1), (2);"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


async def _placed_app(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    source: RunningEmulator,
    target: RunningEmulator,
    cpu: str = "1",
) -> tuple[Account, str, str, str]:
    """Servers `source` (big, takes the subscription) and `target`; an organization on the
    source with an app `web`. Returns the account, the target's id, the Easypanel project and
    the project's own name."""
    await add_server(client, admin, source, "source")
    target_id = (await add_server(client, admin, target, "target"))["id"]
    plan = await make_plan(db, cpu=cpu, memory_gb="1", storage_gb=5)
    account = await customer(client, db, cents=100_000)
    assert (await subscribe(client, account, plan)).status_code == 201
    services = await services_url(client, account)
    created = await client.post(
        f"{services}/app",
        headers=account.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    assert created.status_code == 202, created.text
    source.controller.advance(10)
    async with db() as session:
        project = await session.scalar(
            text(
                "SELECT easypanel_project_name FROM container_projects WHERE organization_id = :o"
            ),
            {"o": account.organization_id},
        )
    return account, target_id, str(project), services.split("/")[4]


def _services(emulator: RunningEmulator, project: str) -> list[str]:
    state: dict[str, Any] = emulator.controller.snapshot()
    return sorted(s["name"] for s in state["services"].values() if s.get("projectName") == project)


def _projects(emulator: RunningEmulator) -> list[str]:
    state: dict[str, Any] = emulator.controller.snapshot()
    return sorted(state["projects"])


async def _servers_of(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> set[str]:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT server_id FROM container_subscriptions WHERE organization_id = :o"
                " UNION SELECT server_id FROM container_projects WHERE organization_id = :o"
                " UNION SELECT server_id FROM container_services WHERE organization_id = :o"
            ),
            {"o": org},
        )
    return {str(value) for (value,) in rows}


async def test_the_dry_run_lists_the_steps_and_refuses_bad_targets(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, name = await _placed_app(client, db, admin, big_server, small_server)
    route = f"{ORGS}/{account.organization_id}/move"
    before = big_server.controller.snapshot()

    dry = await client.post(route, headers=admin.headers, json={"serverId": target})

    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["source"], body["target"]) == ("source", "target")
    assert [(s["kind"], s["server"]) for s in body["steps"]] == [
        ("project", "target"),
        ("app", "target"),
        ("switch", "target"),
        ("cleanup", "source"),
    ]
    assert body["steps"][1]["description"] == (
        f"Recreate the app {project}/web on target from its recorded configuration"
    )
    assert body["downtimes"] == [
        {
            "project": name,
            "service": "web",
            "type": "app",
            "downtime": "none: recreated before the switch",
        }
    ]
    assert _projects(small_server) == []
    assert big_server.controller.snapshot() == before
    assert (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json() == []

    source_id = (await client.get(SERVERS, headers=admin.headers)).json()[0]["id"]
    refusals = {
        source_id: (422, "MOVE_TARGET_NOT_USABLE"),
        str(uuid.uuid4()): (422, "MOVE_TARGET_NOT_USABLE"),
    }
    for server_id, (status, code) in refusals.items():
        refused = await client.post(route, headers=admin.headers, json={"serverId": server_id})
        assert refused.status_code == status, refused.text
        assert refused.json()["error"]["code"] == code
        assert refused.json()["error"]["details"] == {"field": "serverId"}

    drained = await client.post(f"{SERVERS}/{target}/drain", headers=admin.headers)
    assert drained.status_code == 200
    refused = await client.post(route, headers=admin.headers, json={"serverId": target})
    assert refused.status_code == 422
    assert "draining" in refused.json()["error"]["message"]
    assert (
        await client.get(f"{ORGS}/{uuid.uuid4()}/move", headers=admin.headers)
    ).status_code == 405
    assert (
        await client.post(route, headers=account.headers, json={"serverId": target})
    ).status_code == 403


async def test_a_target_without_room_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, _, _ = await _placed_app(client, db, admin, big_server, small_server, "5")
    route = f"{ORGS}/{account.organization_id}/move"
    for dry_run in (True, False):
        refused = await client.post(
            route, headers=admin.headers, json={"serverId": target, "dryRun": dry_run}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "MOVE_TARGET_FULL"
        assert refused.json()["error"]["details"] == {"field": "serverId"}
    assert _projects(small_server) == []
    assert await count(db, "organization_moves") == 0


async def test_a_move_recreates_the_app_on_the_target_and_empties_the_source(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, _ = await _placed_app(client, db, admin, big_server, small_server)
    assert _services(big_server, project) == ["web"]
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO service_domains (id, service_id, host, status, easypanel_domain_id)"
                " SELECT gen_random_uuid(), id, 'shop.example.com', 'attached', 'old-id'"
                " FROM container_services WHERE organization_id = :o"
            ),
            {"o": account.organization_id},
        )
        await session.commit()

    started = await client.post(
        f"{ORGS}/{account.organization_id}/move",
        headers=admin.headers,
        json={"serverId": target, "dryRun": False},
    )

    assert started.status_code == 202, started.text
    assert started.json()["state"] == "pending"
    small_server.controller.advance(10)
    assert _services(small_server, project) == ["web"]
    moved = small_server.controller.service(project, "web")
    assert moved is not None
    assert moved["source"]["image"] == "nginx"
    [custom] = [d for d in moved["domains"] if d["host"] == "shop.example.com"]
    async with db() as session:
        recorded = await session.scalar(
            text("SELECT easypanel_domain_id FROM service_domains WHERE host = 'shop.example.com'")
        )
    assert recorded == custom["id"]
    assert small_server.controller.tasks(project, "web") == (1, 1)
    assert project not in _projects(big_server)
    assert await _servers_of(db, account.organization_id) == {target}
    [move] = (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json()
    assert move["id"] == started.json()["id"]
    assert (move["state"], move["stepsDone"], move["stepsTotal"]) == ("done", 5, 5)
    assert move["finishedAt"] is not None
    assert await count(db, "easypanel_operations", kind="easypanel.move.domain") == 1


async def _with_database(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    source: RunningEmulator,
    target: RunningEmulator,
) -> tuple[Account, str, str, str]:
    """As `_placed_app`, plus a postgres `main-db` holding `DATA` and the backup storage."""
    account, target_id, project, name = await _placed_app(client, db, admin, source, target)
    saved = await client.put(
        "/api/containers/admin/backups/storage",
        headers=admin.headers,
        json={
            "endpoint": s3.endpoint,
            "region": REGION,
            "bucket": s3.bucket(f"moves-{uuid.uuid4().hex[:8]}"),
            "accessKeyId": ACCESS_KEY,
            "secretAccessKey": SECRET_KEY,
        },
    )
    assert saved.status_code == 200, saved.text
    created = await client.post(
        f"/api/containers/projects/{name}/services/database",
        headers=account.headers,
        json={"serviceName": "main-db", "type": "postgres"},
    )
    assert created.status_code == 202, created.text
    source.controller.advance(10)
    source.controller.set_database_data(project, "main-db", DATA)
    return account, target_id, project, name


async def _ended_on_target(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    account: Account,
    source: RunningEmulator,
    target: RunningEmulator,
    target_id: str,
    project: str,
) -> None:
    target.controller.advance(10)
    assert _services(target, project) == ["main-db", "web"]
    assert target.controller.tasks(project, "web") == (1, 1)
    assert target.controller.database_data(project, "main-db") == DATA
    assert project not in _projects(source)
    assert _services(source, project) == []
    assert await _servers_of(db, account.organization_id) == {target_id}
    [move] = (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json()
    assert (move["state"], move["stepsDone"], move["stepsTotal"]) == ("done", 8, 8)
    assert move["lastError"] is None


async def test_a_database_without_backup_storage_cannot_move(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, _, name = await _placed_app(client, db, admin, big_server, small_server)
    created = await client.post(
        f"/api/containers/projects/{name}/services/database",
        headers=account.headers,
        json={"serviceName": "main-db", "type": "postgres"},
    )
    assert created.status_code == 202, created.text
    refused = await client.post(
        f"{ORGS}/{account.organization_id}/move", headers=admin.headers, json={"serverId": target}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "MOVE_NEEDS_BACKUP_STORAGE"
    assert refused.json()["error"]["details"] == {"field": "serverId"}


async def test_a_move_carries_a_database_by_backup_and_restore(
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
    route = f"{ORGS}/{account.organization_id}/move"
    dry = (await client.post(route, headers=admin.headers, json={"serverId": target})).json()
    assert [(s["kind"], s["server"]) for s in dry["steps"]] == [
        ("project", "target"),
        ("stop", "source"),
        ("backup", "source"),
        ("database", "target"),
        ("restore", "target"),
        ("app", "target"),
        ("switch", "target"),
        ("cleanup", "source"),
    ]
    assert dry["steps"][1]["description"] == (
        f"Stop the app {project}/web on source so that nothing writes to {project}/main-db"
        " while it moves"
    )
    assert [(d["service"], d["downtime"]) for d in dry["downtimes"]] == [
        (
            "web",
            "from its stop on source, before the backup of main-db, until it runs on target"
            " after the restore, so that no write is lost",
        ),
        (
            "main-db",
            "from the backup's start to the restore's end; web stops on source meanwhile,"
            " so no write is lost",
        ),
    ]

    started = await client.post(
        route, headers=admin.headers, json={"serverId": target, "dryRun": False}
    )

    assert started.status_code == 202, started.text
    await _ended_on_target(client, db, admin, account, big_server, small_server, target, project)
    again = await client.post(
        route, headers=admin.headers, json={"serverId": target, "dryRun": False}
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "MOVE_TARGET_NOT_USABLE"


async def test_a_move_broken_in_the_middle_resumes_and_ends_the_same(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    s3: S3Server,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    """The app's stop on the source, the restore and the app's creation take effect but their
    answers are lost; then a worker claims the app's retry and dies. After its lease the sweep
    takes the move up and ends it; the steps already done are not repeated, the repeated ones
    do no harm, and the app stays stopped on the source all along."""
    account, target, project, _ = await _with_database(
        client, db, admin, s3, big_server, small_server
    )
    big_server.controller.fail("services.app.stopService", status=504, after_effect=True)
    small_server.controller.fail(
        "databaseBackups.restoreDatabaseBackup", status=504, after_effect=True
    )
    small_server.controller.fail("services.app.createService", status=504, after_effect=True)

    started = await client.post(
        f"{ORGS}/{account.organization_id}/move",
        headers=admin.headers,
        json={"serverId": target, "dryRun": False},
    )

    assert started.status_code == 202, started.text
    assert big_server.controller.tasks(project, "web") == (0, 0)
    [stop] = await _operations(db, "easypanel.move.stop")
    assert (stop["status"], stop["attempts"]) == ("pending", 1)
    runner = runner_of(client)
    later = clock.now() + timedelta(minutes=15)
    await _sweep_at(runner, later)
    assert _services(small_server, project) == ["main-db"]
    assert big_server.controller.tasks(project, "web") == (0, 0)
    later += timedelta(minutes=15)
    await _sweep_at(runner, later)
    [restore] = await _operations(db, "easypanel.move.restore")
    assert (restore["status"], restore["attempts"]) == ("succeeded", 2)
    assert _services(small_server, project) == ["main-db", "web"]
    [app] = await _operations(db, "easypanel.move.app")
    assert (app["status"], app["attempts"]) == ("pending", 1)
    assert project in _projects(big_server)

    later += timedelta(minutes=15)
    await _claimed_then_died(db, app["id"], later)
    await _sweep_at(runner, later)
    [app] = await _operations(db, "easypanel.move.app")
    assert (app["status"], app["attempts"]) == ("running", 2)
    assert big_server.controller.tasks(project, "web") == (0, 0)

    await _sweep_at(runner, later + LEASE + timedelta(seconds=61))
    [app] = await _operations(db, "easypanel.move.app")
    assert (app["status"], app["attempts"]) == ("succeeded", 3)
    await _ended_on_target(client, db, admin, account, big_server, small_server, target, project)
    assert len(small_server.controller.requests("services.app.createService")) == 2
    assert len(small_server.controller.requests("services.postgres.createService")) == 1
    assert len(small_server.controller.requests("databaseBackups.restoreDatabaseBackup")) == 2
    assert len(big_server.controller.requests("databaseBackups.runDatabaseBackup")) == 1
    assert len(big_server.controller.requests("services.app.stopService")) == 2


async def _operations(db: async_sessionmaker[AsyncSession], kind: str) -> list[dict[str, Any]]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT id, status, attempts FROM easypanel_operations WHERE kind = :k"),
            {"k": kind},
        )
    return [dict(row._mapping) for row in rows]


async def _sweep_at(runner: Runner, moment: datetime) -> None:
    with clock_at(lambda: moment):
        await runner.run_due()


async def _claimed_then_died(
    db: async_sessionmaker[AsyncSession], operation_id: uuid.UUID, now: datetime
) -> None:
    """What a worker that claimed the operation and died leaves: running, its lease to run out."""
    async with db() as session:
        await session.execute(
            text(
                "UPDATE easypanel_operations SET status = 'running', attempts = attempts + 1,"
                " next_attempt_at = :now, lease_expires_at = :lease WHERE id = :id"
            ),
            {"id": operation_id, "now": now, "lease": now + LEASE},
        )
        await session.commit()


async def test_the_organizations_easypanel_login_moves_with_it(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    await customer_logins_on(db)
    account, target, project, _ = await _placed_app(client, db, admin, big_server, small_server)
    async with db() as session:
        email = await session.scalar(
            text(
                "SELECT easypanel_user_email FROM container_subscriptions"
                " WHERE organization_id = :o"
            ),
            {"o": account.organization_id},
        )
    assert _logins(big_server, email) != []

    started = await client.post(
        f"{ORGS}/{account.organization_id}/move",
        headers=admin.headers,
        json={"serverId": target, "dryRun": False},
    )

    assert started.status_code == 202, started.text
    assert _logins(big_server, email) == []
    [user_id] = _logins(small_server, email)
    assert small_server.controller.access(project) == [user_id]
    async with db() as session:
        recorded = await session.scalar(
            text(
                "SELECT easypanel_user_id FROM container_subscriptions WHERE organization_id = :o"
            ),
            {"o": account.organization_id},
        )
    assert recorded == user_id
    [move] = (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json()
    assert (move["state"], move["stepsDone"], move["stepsTotal"]) == ("done", 6, 6)


def _logins(emulator: RunningEmulator, email: str) -> list[str]:
    users: dict[str, Any] = emulator.controller.snapshot()["users"]
    return [user_id for user_id, user in users.items() if user["email"] == email]


async def test_a_step_refused_for_good_fails_the_move_and_leaves_the_source_running(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, _ = await _placed_app(client, db, admin, big_server, small_server)
    source = (await client.get(SERVERS, headers=admin.headers)).json()[0]["id"]
    small_server.controller.fail("services.app.createService", status=400, message="No image")

    started = await client.post(
        f"{ORGS}/{account.organization_id}/move",
        headers=admin.headers,
        json={"serverId": target, "dryRun": False},
    )

    assert started.status_code == 202, started.text
    [move] = (
        await client.get(f"{ORGS}/{account.organization_id}/moves", headers=admin.headers)
    ).json()
    assert (move["state"], move["stepsDone"]) == ("failed", 1)
    assert move["lastError"].startswith(f"easypanel.move.app ({project}/web): ")
    assert "No image" in move["lastError"]
    assert _services(big_server, project) == ["web"]
    assert await _servers_of(db, account.organization_id) == {source}
    statuses = await _operations(db, "easypanel.move.cleanup")
    assert [s["status"] for s in statuses] == ["failed"]


async def test_a_published_port_in_use_on_the_target_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, _, _ = await _placed_app(client, db, admin, big_server, small_server)
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO service_ports (id, service_id, server_id, port, protocol)"
                " SELECT gen_random_uuid(), id, server_id, 30001, 'tcp' FROM container_services"
                " WHERE organization_id = :o"
                " UNION ALL SELECT gen_random_uuid(), id, :target, 30001, 'tcp'"
                " FROM container_services WHERE organization_id = :o"
            ),
            {"o": account.organization_id, "target": uuid.UUID(target)},
        )
        await session.commit()

    refused = await client.post(
        f"{ORGS}/{account.organization_id}/move", headers=admin.headers, json={"serverId": target}
    )

    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == ("MOVE_PORTS_TAKEN", {"field": "serverId"})
    assert "30001/tcp" in error["message"]


async def test_the_admin_console_plans_starts_and_follows_a_move(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, project, _ = await _placed_app(client, db, admin, big_server, small_server)
    async with db() as session:
        slug = await session.scalar(
            text("SELECT slug FROM organizations WHERE id = :o"), {"o": account.organization_id}
        )
    token = await _browser(client, admin)
    form = {cookies.CSRF_FIELD: token, "organization": str(slug), "server": target}

    unknown = await client.post(
        "/admin/moves/plan", data={**form, "organization": "nobody"}, follow_redirects=True
    )
    planned = await client.post("/admin/moves/plan", data=form)
    started = await client.post("/admin/moves/start", data=form)
    small_server.controller.advance(10)
    listed = await client.get("/admin/moves")

    assert "No organization has the slug" in unknown.text  # said on the page, nothing done
    assert planned.status_code == 200
    assert 'data-testid="move-plan"' in planned.text
    assert "from source to target" in planned.text
    assert started.status_code == 303
    assert _services(small_server, project) == ["web"]
    assert "source → target" in listed.text
    assert "Done" in listed.text


async def test_changes_are_refused_while_a_move_is_unfinished(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    account, target, _, _ = await _placed_app(client, db, admin, big_server, small_server)
    services = await services_url(client, account)
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO organization_moves (id, organization_id, source_server_id,"
                " target_server_id, state, steps_total)"
                " SELECT gen_random_uuid(), organization_id, server_id, :t, 'running', 5"
                " FROM container_subscriptions WHERE organization_id = :o"
            ),
            {"o": account.organization_id, "t": target},
        )
        await session.commit()

    during = await client.post(f"{services}/web/stop", headers=account.headers)
    deploy = await client.post(
        f"{services}/app",
        headers=account.headers,
        json={"serviceName": "api", "source": {"type": "image", "image": "nginx"}},
    )
    async with db() as session:
        await session.execute(text("UPDATE organization_moves SET state = 'done', steps_done = 5"))
        await session.commit()
    after = await client.post(f"{services}/web/stop", headers=account.headers)

    assert (during.status_code, during.json()["error"]["code"]) == (409, "MOVE_IN_PROGRESS")
    assert "being moved to another server" in during.json()["error"]["message"]
    assert deploy.status_code == 409
    assert after.status_code == 202, after.text
