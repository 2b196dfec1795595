from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.easypanel import EasypanelClient
from skypanel.easypanel._transport import V
from skypanel.easypanel.schemas import (
    AppSpec,
    BindMount,
    DeployPatch,
    ImageSource,
    Resources,
)
from skypanel.emulator import RecordedRequest, RunningEmulator
from skypanel.models import EasypanelServer
from skypanel.reconcile._drift import LISTING
from skypanel.reconcile.service import reconcile
from tests.conftest import runner_of
from tests.locks import LockWatch
from tests.support import Account, configure_server, register, subscribed

EP = "test-user-s-organization"


async def test_drift_is_imported_flagged_and_reported(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="2", memory_gb="4", storage_gb=20, containers=5)
    services = f"/api/containers/projects/{EP}/services"
    await client.post(
        f"{services}/database",
        headers=alice.headers,
        json={"serviceName": "cache", "type": "redis"},
    )
    async with EasypanelClient(easypanel.base_url, easypanel.token) as direct:
        await direct.create_app(
            EP,
            AppSpec(
                service_name="rogue",
                source=ImageSource(image="nginx"),
                resources=Resources(
                    cpu_limit=0.5, cpu_reservation=0, memory_limit=512, memory_reservation=0
                ),
            ),
        )
        await direct.create_app(
            EP,
            AppSpec(
                service_name="escape",
                source=ImageSource(image="alpine"),
                mounts=[BindMount(host_path="/", mount_path="/host")],
            ),
        )
        await direct.destroy_database("redis", EP, "cache")
        await direct.create_project(f"{EP}-stray")

    runner = runner_of(client)
    report = await reconcile(db, runner.clients)
    await runner.run_all(report.operations)
    assert sorted(report.imported) == [f"{EP}/escape", f"{EP}/rogue"]
    assert report.stopped_unsafe == [f"{EP}/escape"]
    assert report.missing == [f"{EP}/cache"]
    assert report.unknown_projects == [f"{EP}-stray"]
    assert easypanel.controller.tasks(EP, "escape")[0] == 0

    async with db() as session:
        rows = dict(
            (
                await session.execute(text("SELECT service_name, status FROM container_services"))
            ).all()
        )
    assert rows == {"cache": "missing", "rogue": "running", "escape": "stopped"}
    usage = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    cpu = next(q for q in usage["quotas"] if q["quota"] == "cpuCores")
    assert cpu["used"] >= 0.5
    again = await reconcile(db, runner.clients)
    assert (again.imported, again.stopped_unsafe, again.missing) == ([], [], [])


SERVICES = f"/api/containers/projects/{EP}/services"
UNSAFE = "container.drift.unsafe"


class ListedThen(EasypanelClient):
    """A real client (and its own client source) that runs `meanwhile` once, right after its
    first listing has been answered: what happens while reconciliation is comparing."""

    def __init__(self, easypanel: RunningEmulator, meanwhile: Callable[[], Awaitable[None]]):
        super().__init__(easypanel.base_url, easypanel.token, dialect="orpc")
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    async def call_lists(self, procedure: str, lists: Collection[str], start: Callable[[], V]) -> V:
        answer = await super().call_lists(procedure, lists, start)
        if procedure == LISTING and self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return answer

    async def client_for(self, server_id: uuid.UUID | None) -> EasypanelClient:
        return self


async def _customer(
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> Account:
    easypanel.controller.reset()
    await configure_server(sessions, easypanel.base_url, easypanel.token)
    account = await register(http)
    await subscribed(http, sessions, account, cpu="8", memory_gb="16", storage_gb=80, containers=8)
    return account


async def _deploy(http: httpx.AsyncClient, account: Account, name: str) -> None:
    """Deploy an app through the API and deliver its creation on Easypanel."""
    source = {"type": "image", "image": "nginx:1.27"}
    created = await http.post(
        f"{SERVICES}/app", headers=account.headers, json={"serviceName": name, "source": source}
    )
    assert created.status_code in (201, 202), created.text  # 202 once delivery is deferred
    await runner_of(http).run(uuid.UUID(created.json()["operation"]["id"]))
    detail = await http.get(f"{SERVICES}/{name}", headers=account.headers)
    assert detail.json()["status"] == "deploying"


async def with_web_and_gone(
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> Account:
    """A customer with two apps deployed through the API, `web` and `gone`."""
    account = await _customer(http, sessions, easypanel)
    await _deploy(http, account, "web")
    await _deploy(http, account, "gone")
    return account


async def _services(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT service_name, status, desired_state, last_error,"
                " configuration ->> 'safetyStop' FROM container_services"
            )
        )
    return {name: tuple(rest) for name, *rest in rows.all()}


async def _operations(
    sessions: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]
) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT kind, target, status FROM easypanel_operations WHERE id = ANY(:ids)"
                " ORDER BY target"
            ),
            {"ids": ids},
        )
    return [tuple(row) for row in rows.all()]


async def _activity(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT organization_id, message, metadata -> 'violations' FROM activity_logs"
                " WHERE event_type = :type ORDER BY organization_id IS NULL, message"
            ),
            {"type": UNSAFE},
        )
    return [tuple(row) for row in rows.all()]


async def test_reconcile_calls_easypanel_with_no_row_locked(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    no_locks_during_calls: LockWatch,
) -> None:
    await with_web_and_gone(live_client, committed, easypanel)
    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        await direct.create_app(
            EP,
            AppSpec(
                service_name="escape",
                source=ImageSource(image="alpine"),
                mounts=[BindMount(host_path="/", mount_path="/host")],
            ),
        )
        await direct.create_app(
            EP, AppSpec(service_name="rogue", source=ImageSource(image="nginx"))
        )
        await direct.destroy_app(EP, "gone")
    runner = runner_of(live_client)

    report = await reconcile(committed, runner.clients)
    assert no_locks_during_calls.problems() == ""
    await runner.run_all(report.operations)
    assert await _operations(committed, report.operations) == [
        ("easypanel.service.stop", f"{EP}/escape", "succeeded")
    ]

    assert sorted(report.imported) == [f"{EP}/escape", f"{EP}/rogue"]
    assert report.stopped_unsafe == [f"{EP}/escape"]
    assert report.missing == [f"{EP}/gone"]
    assert easypanel.controller.tasks(EP, "escape")[0] == 0
    assert {name: row[0] for name, row in (await _services(committed)).items()} == {
        "web": "deploying",
        "gone": "missing",
        "escape": "stopped",
        "rogue": "running",
    }
    assert no_locks_during_calls.problems() == ""
    easypanel.controller.reset()


async def test_services_deployed_while_easypanel_is_listed_are_not_marked_missing(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    no_locks_during_calls: LockWatch,
) -> None:
    account = await _customer(live_client, committed, easypanel)
    await _deploy(live_client, account, "redo")
    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        await direct.destroy_app(EP, "redo")
    async with committed() as session:  # its deploy failed: Easypanel has nothing of it
        await session.execute(
            text("UPDATE container_services SET status = 'failed' WHERE service_name = 'redo'")
        )
        await session.commit()

    async def meanwhile() -> None:
        await _deploy(live_client, account, "late")
        async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
            await direct.create_app(
                EP, AppSpec(service_name="redo", source=ImageSource(image="nginx:1.27"))
            )
        async with committed() as session:  # and it is deployed again: its record moves on
            await session.execute(
                text(
                    "UPDATE container_services SET status = 'deploying', updated_at = now()"
                    " WHERE service_name = 'redo'"
                )
            )
            await session.commit()

    clients = ListedThen(easypanel, meanwhile)
    async with clients:
        report = await reconcile(committed, clients)

    assert (report.missing, report.imported, report.stopped_unsafe, report.operations) == (
        [],
        [],
        [],
        [],
    )
    assert {name: row[0] for name, row in (await _services(committed)).items()} == {
        "late": "deploying",
        "redo": "deploying",
    }
    again = await reconcile(committed, runner_of(live_client).clients)
    assert (again.missing, again.imported, again.stopped_unsafe, again.operations) == (
        [],
        [],
        [],
        [],
    )
    easypanel.controller.reset()


class LastErrorAtStop:
    """A request hook: each service's recorded last error when Easypanel is asked to stop it."""

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url).set(drivername="postgresql")
        self.errors: dict[str, str | None] = {}

    def __call__(self, request: RecordedRequest) -> None:
        if request.procedure != "services.app.stopService":
            return
        name = request.input["serviceName"]
        dsn = self.url.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            row = connection.execute(
                "SELECT last_error FROM container_services WHERE easypanel_service_name = %s",
                (name,),
            ).fetchone()
        self.errors[name] = None if row is None else row[0]


async def test_panel_made_services_changed_in_easypanel_are_stopped_once(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    settings: Settings,
    no_locks_during_calls: LockWatch,
    request: pytest.FixtureRequest,
) -> None:
    account = await _customer(live_client, committed, easypanel)
    names = ("bind", "caps", "clean", "hostnet", "priv", "sock")
    for name in names:
        await _deploy(live_client, account, name)
    database = await live_client.post(
        f"{SERVICES}/database",
        headers=account.headers,
        json={"serviceName": "cache", "type": "redis"},
    )
    assert database.status_code in (201, 202), database.text
    await runner_of(live_client).run(uuid.UUID(database.json()["operation"]["id"]))
    # The customer changes them with their own Easypanel login.
    control = easypanel.controller
    control.edit_service(
        EP, "bind", {"mounts": [{"type": "bind", "hostPath": "/", "mountPath": "/host"}]}
    )
    control.edit_service(
        EP,
        "sock",
        {
            "mounts": [
                {
                    "type": "bind",
                    "hostPath": "/var/run/docker.sock",
                    "mountPath": "/var/run/docker.sock",
                }
            ]
        },
    )
    control.edit_service(EP, "priv", {"deploy": {"privileged": True}})
    control.edit_service(EP, "hostnet", {"deploy": {"networkMode": "host"}})
    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        await direct.update_app_deploy(
            EP, "caps", DeployPatch(cap_add=["NET_BIND_SERVICE", "SYS_ADMIN"])
        )
        for name, key, value in (
            ("priv", "privileged", True),
            ("hostnet", "networkMode", "host"),
            ("caps", "capAdd", ["NET_BIND_SERVICE", "SYS_ADMIN"]),
        ):
            inspected = await direct.call(
                "services.app.inspectService", {"projectName": EP, "serviceName": name}
            )
            assert inspected["deploy"][key] == value
    runner = runner_of(live_client)
    assert settings.database_url is not None
    at_stop = LastErrorAtStop(settings.database_url)
    request.addfinalizer(control.on_request(at_stop))

    report = await reconcile(committed, runner.clients)

    unsafe = [f"{EP}/{name}" for name in ("bind", "caps", "hostnet", "priv", "sock")]
    assert (report.imported, report.missing) == ([], [])
    assert sorted(report.stopped_unsafe) == unsafe
    reasons = {
        "bind": "a bind mount of the host path /",
        "caps": "the capabilities SYS_ADMIN",
        "hostnet": "host networking",
        "priv": "privileged mode",
        "sock": "a bind mount of the host path /var/run/docker.sock and the Docker socket",
    }
    sentence = {
        name: f"Stopped by SkyPanel because it uses {uses}, which is not allowed."
        for name, uses in reasons.items()
    }
    await runner.run_all(report.operations)
    assert at_stop.errors == sentence  # the reason is recorded before the stop is sent
    rows = await _services(committed)
    assert {name: (row[0], row[1], row[3]) for name, row in rows.items()} == {
        **{name: ("stopped", "stopped", sentence[name]) for name in reasons},
        "clean": ("deploying", "running", None),
        "cache": ("running", "running", None),
    }
    assert await _operations(committed, report.operations) == [
        ("easypanel.service.stop", where, "succeeded") for where in unsafe
    ]
    assert {name: control.tasks(EP, name)[0] for name in (*names, "cache")} == {
        "bind": 0,
        "caps": 0,
        "clean": 1,
        "hostnet": 0,
        "priv": 0,
        "sock": 0,
        "cache": 1,
    }
    activity = await _activity(committed)
    org = account.organization_id
    assert [entry[:2] for entry in activity] == [
        *(
            (org, f"Service {EP}/{n} was stopped: it uses {r}, which is not allowed")
            for n, r in reasons.items()
        ),
        *(
            (None, f"Service {EP}/{n} of organization {org} uses {r}; it was stopped")
            for n, r in reasons.items()
        ),
    ]
    assert (
        activity[0][2]
        == activity[5][2]
        == [{"service": "bind", "where": "mounts.0", "reason": "a bind mount of the host path /"}]
    )
    assert activity[3][2] == [
        {"service": "priv", "where": "deploy.privileged", "reason": "privileged mode"}
    ]

    again = await reconcile(committed, runner.clients)
    assert (again.imported, again.stopped_unsafe, again.missing, again.operations) == (
        [],
        [],
        [],
        [],
    )
    assert len(await _activity(committed)) == 10

    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        await direct.start_app(EP, "priv")  # started again behind SkyPanel's back
    at_stop.errors.clear()
    third = await reconcile(committed, runner.clients)
    await runner.run_all(third.operations)
    assert at_stop.errors == {"priv": sentence["priv"]}
    assert third.stopped_unsafe == [f"{EP}/priv"]
    assert await _operations(committed, third.operations) == [
        ("easypanel.service.stop", f"{EP}/priv", "succeeded")
    ]
    assert control.tasks(EP, "priv")[0] == 0
    assert len(await _activity(committed)) == 12
    easypanel.controller.reset()
