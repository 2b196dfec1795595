"""Engine and session factory. The request or the job owns the transaction; services only flush."""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asyncpg import Connection  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only, greenlet_spawn

from skypanel.kit import uow

RECENT_SECONDS = 0.5
"""A pooled connection given back this recently, and that the driver has not seen closed, is
used without a check: it was answering a moment ago (HikariCP's `aliveBypassWindowMs`, 500 ms by
default, makes the same bargain). One that PostgreSQL ended without the driver noticing yet
fails its statement as a lost connection (a 503 for a request, `skypanel.http.errors`), and
SQLAlchemy then replaces every connection of the pool, as a failed check would have."""

_returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
"""When each driver connection was last given back to its pool (`time.monotonic`)."""


def _given_back(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        _returned[dbapi_connection.driver_connection] = time.monotonic()


class PingOnce(PGDialect_asyncpg):
    """SQLAlchemy's asyncpg dialect, except that the check of a pooled connection before each
    use (`pool_pre_ping`) is one round trip, and none for a connection given back within
    `RECENT_SECONDS`: `SELECT 1` in the simple protocol, which PgBouncer passes as one
    transaction. The dialect's own check wraps an empty prepared statement in `BEGIN` and
    `ROLLBACK` for PgBouncer's sake, three round trips on every request (bench/RESULTS.md)."""

    supports_statement_cache = True

    def do_ping(self, dbapi_connection: Any) -> bool:
        driver = dbapi_connection.driver_connection
        returned = _returned.get(driver)
        if (
            returned is not None
            and time.monotonic() - returned < RECENT_SECONDS
            and not driver.is_closed()
        ):
            return True
        try:
            await_only(driver.execute("SELECT 1"))
        except Exception as error:
            # Mapped as the dialect's own ping maps it, so a lost connection is seen as one.
            dbapi_connection._handle_exception(error)
        return True


registry.register("postgresql.skypanel", __name__, "PingOnce")


def async_url(url: str) -> str:
    """Any PostgreSQL URL (libpq style included) as a SQLAlchemy URL for asyncpg (`PingOnce`)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+skypanel").render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 0, pgbouncer: bool = False
) -> AsyncEngine:
    """With `pgbouncer` (transaction pooling), each statement is prepared under a name of its
    own and nothing is cached, since consecutive transactions may run on different server
    connections (PgBouncer passes `application_name` and `timezone` on by itself)."""
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "skypanel", "timezone": "UTC"}
    }
    if pgbouncer:
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__skypanel_{uuid.uuid4().hex}__",
        }
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        # Statement parameters hold password hashes and secrets: never in errors or logs.
        hide_parameters=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkin", _given_back)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def driver_connection(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Connection]:
    """The asyncpg connection a session of `sessions` would run on, for a read of one statement
    outside any transaction of its own (asyncpg's `fetch`): a pooled connection of their engine,
    given back when the block ends, or the one connection they are bound to (sessions joined to
    an outer transaction, as the tests' are). It skips the session and its `Connection`, about
    200 µs of CPU a checkout (bench/RESULTS.md, session 12); the pool checks the connection
    (`PingOnce`) and resets it as it does for a session, and a failure to connect is raised as
    a session raises it (`DBAPIError`)."""
    bind: AsyncEngine | AsyncConnection = sessions.kw["bind"]
    if isinstance(bind, AsyncConnection):
        yield (await bind.get_raw_connection()).driver_connection
        return
    dialect = bind.dialect
    try:
        pooled = await bind.raw_connection()
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            None, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        ) from error
    try:
        yield pooled.driver_connection
    finally:
        # Given back even when the request is cancelled meanwhile, as a session's is.
        await asyncio.shield(greenlet_spawn(pooled.close))


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends, then apply what it recorded for after the
    commit (`skypanel.kit.uow`); roll back, and drop that record, when it raises."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            uow.discard(session)
            await session.rollback()
            raise
        await uow.commit(session)
