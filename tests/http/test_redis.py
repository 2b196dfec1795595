"""The app with Redis: requests answer when Redis hangs or is gone, and a change made in one
process is seen at once in every other (by generation, never by scanning Redis's keys)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings
from skypanel.http.fastpath import CachedReads
from skypanel.models import EasypanelServer
from skypanel.projects.endpoints import PROJECTS
from skypanel.quotas.endpoints import USAGE
from tests.http.redis_doubles import closed_port_url, switch
from tests.http.test_cached_reads import PROJECTS_PATH, Recorder
from tests.support import PASSWORD, Account, subscribed

ME = "/api/auth/me"


@contextlib.asynccontextmanager
async def _process(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for another web process: its own app and cache, on the given Redis."""
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    attach_database(app, engine, sessions)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://skypanel.test") as http:
            yield http
    finally:
        await app.state.clients.aclose()
        await app.state.cache.aclose()


def _app(http: httpx.AsyncClient) -> FastAPI:
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    assert isinstance(transport.app, FastAPI)
    return transport.app


@pytest.mark.parametrize("redis", ["hanging", "gone"])
async def test_signed_in_requests_answer_while_redis_hangs_or_is_gone(
    redis: str,
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    alice: Account,
    server: EasypanelServer,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        url = (await stack.enter_async_context(switch())).url if redis == "hanging" else None
        http = await stack.enter_async_context(
            _process(settings, engine, db, url or closed_port_url())
        )
        async with asyncio.timeout(10):
            # A change: its invalidations cannot reach Redis either.
            await subscribed(http, db, alice)
        started = time.perf_counter()
        for path in (ME, PROJECTS_PATH, ME, PROJECTS_PATH):
            async with asyncio.timeout(2):
                response = await http.get(path, headers=alice.headers)
            assert response.status_code == 200, response.text
        assert time.perf_counter() - started < 2
        assert len(response.json()) == 1


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invalidating must not walk Redis's keyspace."""

    def refused(*_: object, **__: object) -> None:
        raise AssertionError("SCAN over the keyspace")

    monkeypatch.setattr(aioredis.Redis, "scan_iter", refused)


async def test_a_change_in_one_process_is_seen_at_once_in_another(
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    alice: Account,
    server: EasypanelServer,
    redis_url: str,
    no_scan: None,
) -> None:
    await subscribed(client, db, alice)
    async with (
        _process(settings, engine, db, redis_url) as one,
        _process(settings, engine, db, redis_url) as two,
    ):
        before = [await one.get(PROJECTS_PATH, headers=alice.headers) for _ in range(2)]
        assert [r.status_code for r in before] == [200, 200]
        assert before[1].content == before[0].content
        created = await two.post(PROJECTS_PATH, headers=alice.headers, json={"projectName": "blog"})
        assert created.status_code in (201, 202), created.text
        after = await one.get(PROJECTS_PATH, headers=alice.headers)
    names = {p["projectName"] for p in after.json()}
    assert names == {p["projectName"] for p in before[0].json()} | {"blog"}


async def test_a_token_revoked_in_one_process_is_refused_at_once_in_another(
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    alice: Account,
    server: EasypanelServer,
    redis_url: str,
    no_scan: None,
) -> None:
    await subscribed(client, db, alice)
    async with (
        _process(settings, engine, db, redis_url) as one,
        _process(settings, engine, db, redis_url) as two,
    ):
        recorder = Recorder()
        state = _app(one).state
        layer = CachedReads(
            recorder, reads=(PROJECTS, USAGE), cache=state.cache, settings=settings, state=state
        )
        fast = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=layer), base_url="http://skypanel.test"
        )
        async with fast:
            assert (await one.get(PROJECTS_PATH, headers=alice.headers)).status_code == 200
            assert (await fast.get(PROJECTS_PATH, headers=alice.headers)).status_code == 200
            changed = await two.post(
                "/api/auth/password",
                headers=alice.headers,
                json={"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"},
            )
            assert changed.status_code == 200, changed.text
            assert (await fast.get(PROJECTS_PATH, headers=alice.headers)).status_code == 599
            revoked = await one.get(PROJECTS_PATH, headers=alice.headers)
            assert revoked.status_code == 401
            assert revoked.json()["error"]["code"] == "TOKEN_REVOKED"
            fresh = {"Authorization": f"Bearer {changed.json()['accessToken']}"}
            assert (await one.get(PROJECTS_PATH, headers=fresh)).status_code == 200
    assert recorder.calls == 1
