"""The status people see: a healthy start never shows crash-looping, a stop shows stopping then
stopped, a service that keeps crashing is told about once.

The panel's clock follows the emulator's here (both move only by hand), and the real settling
time applies (the rest of the suite settles at once: see conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from skypanel.servers.clients import TASKS_TTL
from skypanel.services import health
from skypanel.services.status import Timing
from tests.conftest import _app
from tests.support import Account, clock_at, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}
TIMING = Timing(settle=10.0, start_window=180.0, down_grace=30.0)


@pytest.fixture
def shared_time(client: httpx.AsyncClient, easypanel: RunningEmulator) -> Iterator[None]:
    """The panel reads the emulator's clock and judges starts with the production timing."""
    app = _app(client)
    settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={
            "service_settle_seconds": TIMING.settle,
            "service_start_window_seconds": TIMING.start_window,
            "service_down_grace_seconds": TIMING.down_grace,
        }
    )
    world = easypanel.controller.world
    try:
        with clock_at(lambda: datetime.fromtimestamp(world.clock.now(), UTC)):
            yield
    finally:
        app.state.settings = settings


async def _status(client: httpx.AsyncClient, account: Account, name: str = "web") -> str:
    found = await client.get(f"{SERVICES}/{name}", headers=account.headers)
    assert found.status_code == 200, found.text
    status: str = found.json()["status"]
    return status


async def _follow(
    client: httpx.AsyncClient,
    easypanel: RunningEmulator,
    account: Account,
    seconds: int,
    name: str = "web",
) -> list[str]:
    """The status read once a second for `seconds` seconds, repeats collapsed."""
    seen: list[str] = []
    for _ in range(seconds):
        status = await _status(client, account, name)
        if not seen or seen[-1] != status:
            seen.append(status)
        easypanel.controller.advance(1)
    return seen


async def test_a_healthy_deploy_goes_through_starting_to_running_never_crash_looping(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    shared_time: None,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    assert created.status_code == 202, created.text

    seen = await _follow(client, easypanel, alice, 20)

    # Emulated deploy: the action runs 2 s, the tasks come up then, and count after 10 s up.
    assert seen == ["deploying", "starting", "running"]
    listed = await client.get(SERVICES, headers=alice.headers)
    assert [s["status"] for s in listed.json()] == ["running"]
    assert listed.json()[0]["statusMessage"] == "Running."


async def test_start_holds_starting_until_the_tasks_stay_up_and_stop_ends_stopped(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    shared_time: None,
) -> None:
    await subscribed(client, db, alice)
    await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    await _follow(client, easypanel, alice, 15)

    stopped = await client.post(f"{SERVICES}/web/stop", headers=alice.headers)
    assert stopped.json()["status"] == "stopping"
    after_stop = await _follow(client, easypanel, alice, 3)
    started = await client.post(f"{SERVICES}/web/start", headers=alice.headers)
    assert started.json()["status"] == "starting"
    after_start = await _follow(client, easypanel, alice, 16)

    assert after_stop == ["stopped"]
    # Two seconds for Swarm to start the task, then ten up before it counts as running.
    assert after_start == ["starting", "running"]
    assert await count(db, "container_services", service_name="web", status="running") == 1


async def test_tasks_that_stay_down_are_crash_looping_and_the_watch_tells_once(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    shared_time: None,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        f"{SERVICES}/database",
        headers=alice.headers,
        json={"type": "postgres", "serviceName": "db"},
    )
    assert created.status_code == 202, created.text
    assert await _follow(client, easypanel, alice, 15, "db") == ["starting", "running"]
    state = _app(client).state

    async def watch() -> health.HealthReport:
        return await health.watch(state.sessions, state.clients, state.cache, TIMING)

    easypanel.controller.set_service_error(EP, "db", "exit code 137 (out of memory)")
    easypanel.controller.advance(TASKS_TTL)  # counts read before are shared this long
    first = await watch()
    brief = await _follow(client, easypanel, alice, 20, "db")
    early = await watch()
    easypanel.controller.advance(15)
    marked = await watch()
    again = await watch()
    looping = await client.get(f"{SERVICES}/db", headers=alice.headers)

    assert (first.crash_looping, early.crash_looping) == ([], [])
    assert brief == ["starting"]  # Swarm may be restarting it: not yet crash-looping
    assert marked.crash_looping == [f"{EP}_db"]
    assert again.crash_looping == []
    assert looping.json()["status"] == "crash-looping"
    assert "keep stopping" in looping.json()["statusMessage"]
    async with db() as session:
        told = await session.scalar(
            text("SELECT count(*) FROM events WHERE type = 'service.crash_looping'")
        )
        mails = await session.scalar(
            text("SELECT count(*) FROM outbox_messages WHERE template = 'service.crash_looping'")
        )
    assert (told, mails) == (1, 1)

    easypanel.controller.set_service_error(EP, "db", None)
    easypanel.controller.advance(3)
    back = await watch()  # up again, not yet for the settling time
    easypanel.controller.advance(11)
    recovered = await watch()
    assert (back.recovered, recovered.recovered) == ([], [f"{EP}_db"])
    assert await _status(client, alice, "db") == "running"


async def test_views_share_one_read_of_a_servers_task_counts_until_a_change(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    shared_time: None,
) -> None:
    """A server lists every service it runs: the views that ask at the same time share one
    read, later ones the same answer for `TASKS_TTL`, and a service changed after it was read
    makes a new one."""
    await subscribed(client, db, alice)
    await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    assert (await _follow(client, easypanel, alice, 15))[-1] == "running"
    pool = _app(client).state.clients
    easypanel.controller.advance(TASKS_TTL)
    easypanel.controller.clear_requests()
    ep = await pool.client_of(server)

    def reads() -> int:
        return sum(1 for r in easypanel.controller.requests() if "TaskStats" in r.procedure)

    together = await asyncio.gather(*(pool.task_counts(ep, server.id) for _ in range(10)))
    assert reads() == 1
    assert {counts[f"{EP}_web"] for counts in together} == {(1, 1)}
    easypanel.controller.advance(TASKS_TTL / 2)
    await pool.task_counts(ep, server.id)
    assert reads() == 1
    changed = datetime.fromtimestamp(easypanel.controller.world.clock.now(), UTC)
    await pool.task_counts(ep, server.id, changed - timedelta(seconds=5))
    assert reads() == 1
    await pool.task_counts(ep, server.id, changed)
    assert reads() == 2
    easypanel.controller.advance(TASKS_TTL)
    await pool.task_counts(ep, server.id)
    assert reads() == 3
    # A change stamped ahead of this clock (another host's) asks for one read, not one a view.
    easypanel.controller.advance(1)
    ahead = changed + timedelta(minutes=5)
    for _ in range(3):
        await pool.task_counts(ep, server.id, ahead)
    assert reads() == 4
