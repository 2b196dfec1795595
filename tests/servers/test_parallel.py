"""The reconciliation and the health watch go through the servers concurrently: one server that
hangs holds up no other, and a `down` server is left to the health check until it answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.reconcile.service import reconcile
from skypanel.servers.clients import ClientPool
from skypanel.servers.health import check_servers
from skypanel.services import health
from skypanel.services import status as live
from tests.conftest import _app
from tests.servers.fleet import add_server, customer, subscribe
from tests.support import make_admin, make_plan, services_url

LISTING = "projects.listProjectsAndServices"
TIMING = live.Timing(settle=0.0, start_window=0.0, down_grace=60.0)


async def _fleet(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    emulators: tuple[RunningEmulator, RunningEmulator],
) -> list[tuple[uuid.UUID, RunningEmulator]]:
    """Both emulators as servers, with one customer each running an app; in id order."""
    admin = await make_admin(client, sessions)
    plan = await make_plan(sessions, cpu="2", memory_gb="4", storage_gb=20)
    added = []
    for name, emulator in zip(("eu-1", "eu-2"), emulators, strict=True):
        added.append((uuid.UUID((await add_server(client, admin, emulator, name))["id"]), emulator))
    for _ in emulators:
        account = await customer(client, sessions)
        assert (await subscribe(client, account, plan)).status_code == 201
        url = await services_url(client, account)
        body = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}
        assert (await client.post(f"{url}/app", headers=account.headers, json=body)).is_success
    async with sessions() as session:
        await session.execute(text("UPDATE container_services SET status = 'running'"))
        await session.commit()
    return sorted(added, key=lambda pair: pair[0])


def _called(emulator: RunningEmulator, procedure: str) -> int:
    return sum(r.procedure.endswith(procedure) for r in emulator.controller.requests())


async def _other_goes_on(
    run: Callable[[], Coroutine[Any, Any, object]],
    hung: RunningEmulator,
    other: RunningEmulator,
    procedure: str,
) -> None:
    """While the first server's call hangs, the other server is asked all the same."""
    for emulator in (hung, other):
        emulator.controller.clear_requests()
    hung.controller.hang("*", times=1, seconds=20)
    task = asyncio.create_task(run())
    try:
        for _ in range(200):
            if _called(other, procedure):
                break
            await asyncio.sleep(0.025)
        assert _called(other, procedure) == 1
        assert not task.done()
    finally:
        hung.controller.release_hangs()
        await task
    assert _called(hung, procedure) >= 1  # answered once released


async def test_one_hanging_server_holds_up_no_other(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("skypanel.reconcile._listing.PATIENCE", 0.5)  # listings are taken in turn
    (_, first), (_, second) = await _fleet(live_client, committed, (big_server, small_server))
    pool = ClientPool(committed)
    cache = _app(live_client).state.cache
    try:
        await _other_goes_on(lambda: reconcile(committed, pool), first, second, LISTING)
        await _other_goes_on(
            lambda: health.watch(committed, pool, cache, TIMING),
            first,
            second,
            "getDockerTaskStats",
        )
    finally:
        await pool.aclose()


async def test_a_down_server_is_left_out_of_reconciliation_and_the_watch(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    (_, down), (_, up) = await _fleet(live_client, committed, (big_server, small_server))
    down.controller.fail("*", times=10_000, status=503)
    for _ in range(3):
        await check_servers(committed)
    down.controller.clear_faults()  # answering again, but down until the next check says so
    for emulator in (down, up):
        emulator.controller.clear_requests()
    pool = ClientPool(committed)
    try:
        await reconcile(committed, pool)
        await health.watch(committed, pool, _app(live_client).state.cache, TIMING)
    finally:
        await pool.aclose()
    assert (_called(down, LISTING), _called(up, LISTING)) == (0, 1)
    assert (_called(down, "getDockerTaskStats"), _called(up, "getDockerTaskStats")) == (0, 1)
