"""The cache: Redis is never needed to answer (timeouts, a miss on failure, a back-off), and
invalidation is by generation."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import Context
from typing import Any

import pytest

from skypanel.kit import cache as cache_module
from skypanel.kit.cache import Cache
from tests.http.redis_doubles import Switch, closed_port_url, real_redis_url, switch

BOUND = 0.75
"""More than a default call may take against a dead Redis (connect plus socket timeout)."""


async def _timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    async with asyncio.timeout(5):
        await call
    return time.perf_counter() - started


@pytest.fixture
async def hanging() -> AsyncIterator[Switch]:
    async with switch() as server:
        yield server


async def test_a_hanging_redis_is_a_miss_within_the_timeout_then_left_alone(
    hanging: Switch,
) -> None:
    cache = Cache(hanging.url)
    try:
        assert await _timed(cache.get_raw("k")) < BOUND
        assert await cache.get_raw("k") is None
        assert await cache.generations("org:x") is None
        await cache.set_raw("k", b"1", 30)
        await cache.bump("org:x")
        await cache.drop("templates:")
        for call in (cache.get_raw("k"), cache.set_raw("k", b"1", 30), cache.bump("org:x")):
            assert await _timed(call) < 0.05
        assert hanging.connections == 1
    finally:
        await cache.aclose()


async def test_a_refused_connection_is_a_miss_at_once() -> None:
    cache = Cache(closed_port_url())
    try:
        assert await _timed(cache.get_raw("k")) < BOUND
        assert await cache.get_many_raw("a", "b") == [None, None]
        await cache.set("k", {"a": 1}, 30)
        assert await cache.get("k") is None
    finally:
        await cache.aclose()


async def test_after_the_backoff_one_call_probes_and_a_recovered_redis_is_used_again(
    hanging: Switch,
) -> None:
    cache = Cache(hanging.url, connect_timeout=0.1, socket_timeout=0.1, backoff=0.3)
    key = f"probe-{uuid.uuid4()}"
    try:
        assert await cache.get_raw(key) is None
        await asyncio.sleep(0.35)
        # Redis still hangs: of ten calls at once, one probes it, the others do not wait.
        started = time.perf_counter()
        assert await asyncio.gather(*(cache.get_raw(key) for _ in range(10))) == [None] * 10
        assert time.perf_counter() - started < 0.5
        assert hanging.connections == 2
        hanging.up = True
        await cache.set_raw(key, b"skipped", 30)
        assert hanging.connections == 2
        await asyncio.sleep(0.35)
        await cache.set_raw(key, b"stored", 30)
        assert await cache.get_raw(key) == b"stored"
    finally:
        await cache.aclose()


class Log:
    """Stands for the cache module's logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.lines.append((level, event, fields))


async def test_a_lost_invalidation_is_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    log = Log()
    monkeypatch.setattr(cache_module, "log", log)
    cache = Cache(closed_port_url())
    try:
        await cache.bump("org:1", "user:2")
        await cache.bump("org:3")
    finally:
        await cache.aclose()
    assert [(level, event) for level, event, _ in log.lines] == [
        ("warning", "cache.redis_failed"),
        ("warning", "cache.invalidation_lost"),
        ("warning", "cache.invalidation_lost"),
    ]
    lost = [fields["scopes"] for *_, fields in log.lines[1:]]
    assert lost == [["org:1", "user:2"], ["org:3"]]


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    url = None if request.param == "memory" else await real_redis_url()
    cache = Cache(url, prefix=f"test-{uuid.uuid4().hex}:")
    yield cache
    if url is not None:
        await cache.drop("")
    await cache.aclose()


async def test_a_bump_starts_a_new_generation_of_its_scopes_only(cache: Cache) -> None:
    assert await cache.generations("org:a", "org:b") == [0, 0]
    await cache.bump("org:a")
    await cache.bump("org:a", "user:c")
    assert await cache.generations("org:a", "org:b", "user:c") == [2, 0, 1]


async def test_many_entries_are_read_at_once_in_order(cache: Cache) -> None:
    await cache.set_raw("one", b"1", 30)
    await cache.set_raw("three", b"3", 30)
    assert await cache.get_many_raw("three", "two", "one") == [b"3", None, b"1"]


async def test_one_caller_refreshes_an_aging_entry_ahead_of_its_ttl(cache: Cache) -> None:
    """Each request runs in a context of its own; the claimant's later reads stay due."""

    def request(key: str, written: float | None, context: Context | None = None) -> bool:
        return (Context() if context is None else context).run(
            cache.first_to_refresh, key, written, 0.2
        )

    now = time.time()
    assert not request("caller", now)
    assert not request("caller", None)
    claimant = Context()
    assert request("caller", now - 1, claimant)
    assert not request("caller", now - 1)
    assert request("caller", now - 1, claimant)
    assert not request("caller", time.time(), claimant)
    assert request("another", now - 1)
    await asyncio.sleep(0.25)
    assert request("caller", now - 1)
