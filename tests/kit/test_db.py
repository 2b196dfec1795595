"""The engine's pooled connections: checked before each use in one round trip unless given back a
moment ago, and replaced when PostgreSQL has ended them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from asyncpg import CannotConnectNowError, DivisionByZeroError  # type: ignore[import-untyped]
from asyncpg.connection import LoggedQuery  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from skypanel.config import Settings
from skypanel.kit.db import (
    RECENT_SECONDS,
    async_url,
    create_engine,
    create_sessionmaker,
    driver_connection,
)
from tests.support import end_backend


@pytest.fixture
async def one(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of one pooled connection."""
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _pid_and_log(engine: AsyncEngine) -> tuple[int, list[str]]:
    """The pooled connection's backend, and what it sends from now on."""
    sent: list[str] = []

    def logged(record: LoggedQuery) -> None:
        sent.append(record.query)

    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        raw = await connection.get_raw_connection()
        raw.driver_connection.add_query_logger(logged)
    assert isinstance(pid, int)
    return pid, sent


async def _pid(engine: AsyncEngine) -> object:
    async with engine.connect() as connection:
        return await connection.scalar(text("SELECT pg_backend_pid()"))


async def test_a_connection_given_back_a_moment_ago_is_used_unchecked(one: AsyncEngine) -> None:
    first, sent = await _pid_and_log(one)
    sent.clear()
    async with one.connect() as connection:
        assert await connection.scalar(text("SELECT pg_backend_pid()")) == first
    await asyncio.sleep(0)  # asyncpg tells its query loggers on the next loop turn
    assert "SELECT 1" not in sent
    assert sent, "nothing was logged: the logger is not on the pooled connection"


async def test_an_idle_connection_is_checked_in_one_round_trip_and_replaced_once_ended(
    settings: Settings, one: AsyncEngine
) -> None:
    assert settings.database_url is not None
    first, sent = await _pid_and_log(one)
    await asyncio.sleep(RECENT_SECONDS + 0.1)
    sent.clear()
    async with one.connect() as connection:
        await asyncio.sleep(0)
        assert sent == ["SELECT 1"]
        assert await connection.scalar(text("SELECT pg_backend_pid()")) == first
    await end_backend(settings.database_url, first)
    await asyncio.sleep(RECENT_SECONDS + 0.1)
    assert await _pid(one) not in (None, first)


async def test_a_connection_postgresql_ended_is_not_reused_even_a_moment_after_use(
    settings: Settings, one: AsyncEngine
) -> None:
    """The driver has seen the connection closed (PostgreSQL said so as it ended it): it is
    checked, found gone and replaced, never used unchecked."""
    assert settings.database_url is not None
    first, _ = await _pid_and_log(one)
    await end_backend(settings.database_url, first)
    assert await _pid(one) not in (None, first)


async def test_more_demand_than_the_pool_waits_for_it_and_opens_no_connection_more(
    settings: Settings,
) -> None:
    """Twelve at once on a pool of two, three times over: the same two backends serve all of
    them (with overflow, each peak opened connections that were closed again on return)."""
    assert settings.database_url is not None
    engine = create_engine(
        settings.database_url, pool_size=2, max_overflow=settings.database_max_overflow
    )

    async def one() -> object:
        async with engine.connect() as connection:
            await asyncio.sleep(0.01)
            return await connection.scalar(text("SELECT pg_backend_pid()"))

    try:
        backends: set[object] = set()
        for _ in range(3):
            backends.update(await asyncio.gather(*(one() for _ in range(12))))
        assert len(backends) == 2
    finally:
        await engine.dispose()


async def test_a_driver_connection_is_checked_and_given_back_as_a_sessions_is(
    settings: Settings, one: AsyncEngine
) -> None:
    """The fast path's connection without a session: the pool's own, given back at the end of
    the block (also when the block fails), checked when idle and replaced once ended."""
    assert settings.database_url is not None
    sessions = create_sessionmaker(one)
    first, sent = await _pid_and_log(one)
    sent.clear()
    async with driver_connection(sessions) as connection:
        assert one.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        assert await connection.fetchval("SELECT pg_backend_pid()") == first
    assert one.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    assert "SELECT 1" not in sent
    with pytest.raises(DivisionByZeroError):
        async with driver_connection(sessions) as connection:
            await connection.fetchval("SELECT 1 / 0")
    assert one.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    await asyncio.sleep(RECENT_SECONDS + 0.1)
    sent.clear()
    async with driver_connection(sessions) as connection:
        await asyncio.sleep(0)
        assert sent == ["SELECT 1"]
        assert await connection.fetchval("SELECT pg_backend_pid()") == first
    await end_backend(settings.database_url, first)
    async with driver_connection(sessions) as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") not in (None, first)


async def test_a_driver_connection_of_sessions_bound_to_a_connection_is_that_connection(
    one: AsyncEngine,
) -> None:
    """Sessions joined to an outer transaction read on its connection, and so see what it has
    not committed."""
    async with one.connect() as bound:
        await bound.begin()
        await bound.execute(text("CREATE TEMPORARY TABLE seen (n int)"))
        await bound.execute(text("INSERT INTO seen VALUES (7)"))
        sessions = async_sessionmaker(bind=bound)
        async with driver_connection(sessions) as connection:
            assert await connection.fetchval("SELECT n FROM seen") == 7
        await bound.rollback()


async def test_a_driver_connection_that_cannot_connect_fails_as_a_session_does(
    settings: Settings,
) -> None:
    """PostgreSQL refusing connections (starting up, shutting down) is a `DBAPIError`, which the
    fast path passes on and the full path answers with a 503, for the driver's connection as
    for a session's."""
    assert settings.database_url is not None

    async def refused() -> object:
        raise CannotConnectNowError("the database system is starting up")

    engine = create_async_engine(async_url(settings.database_url), async_creator=refused)
    sessions = create_sessionmaker(engine)
    try:
        with pytest.raises(DBAPIError) as by_session:
            async with sessions() as session:
                await session.connection()
        with pytest.raises(DBAPIError) as by_driver:
            async with driver_connection(sessions):
                pass
        assert type(by_driver.value) is type(by_session.value)
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
