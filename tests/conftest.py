"""Test harness: a fresh PostgreSQL database built by the migrations, the app over ASGI.

`SKYPANEL_TEST_DATABASE_URL` names a server (default: the local one on 127.0.0.1:5432). The suite
creates its own database there and drops it at the end. With CI=true a missing server fails the
run; elsewhere the suite falls back to an embedded PostgreSQL under `var/test-postgres`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.config import Settings, get_settings, new_encryption_key

os.environ.update(
    {
        "SKYPANEL_ENV": "test",
        "SKYPANEL_SECRET_KEY": secrets.token_urlsafe(48),
        "SKYPANEL_ENCRYPTION_KEYS": new_encryption_key(),
        "SKYPANEL_RATE_LIMIT_ENABLED": "false",
        # Most tests pay and deploy with accounts they just made; the tests of email
        # verification turn it on (tests/accounts/test_flows.py).
        "SKYPANEL_REQUIRE_VERIFIED_EMAIL": "false",
        # Emulated services start in emulated time, which the panel's clock does not follow;
        # tests/services/test_status.py judges starts with the real settling time.
        "SKYPANEL_SERVICE_SETTLE_SECONDS": "0",
        "SKYPANEL_LOG_LEVEL": "WARNING",
    }
)
get_settings.cache_clear()

from skypanel.app import attach_database, create_app  # noqa: E402
from skypanel.emulator import RunningEmulator, running_emulator  # noqa: E402
from skypanel.kit.db import create_engine  # noqa: E402
from skypanel.kit.migrate import upgrade_to_head  # noqa: E402
from skypanel.models import EasypanelServer  # noqa: E402
from skypanel.operations.service import Runner  # noqa: E402
from tests.locks import LockWatch, watching  # noqa: E402
from tests.support import (  # noqa: E402
    Account,
    configure_emulator,
    live_customer,
    make_admin,
    register,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _server_url() -> str:
    url = os.environ.get("SKYPANEL_TEST_DATABASE_URL", DEFAULT_SERVER)
    try:
        asyncio.run(_ping(url))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL at {url} is not reachable ({exc}); CI needs it", returncode=3)
        from skypanel.kit.embedded_pg import start_embedded_postgres

        return start_embedded_postgres(ROOT / "var" / "test")
    return url


async def _ping(url: str) -> None:
    connection = await asyncpg.connect(_libpq(url), timeout=5)
    await connection.close()


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(server: str, sql: str) -> None:
    connection = await asyncpg.connect(_libpq(server))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database(server: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"skypanel_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    return _with_database(server, name)


def drop_database(server: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    upgrade_to_head(url)
    yield url
    drop_database(server_url, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return get_settings().model_copy(update={"database_url": database_url})


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=30, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions inside one outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        await outer.rollback()


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, committing sessions on separate connections, for concurrency tests.

    Everything is truncated afterwards, so these tests leave nothing behind.
    """
    yield async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    async with engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))


def _client(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> httpx.AsyncClient:
    app = create_app(settings)
    attach_database(app, engine, sessions)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://skypanel.test")


@pytest.fixture
async def client(
    settings: Settings, engine: AsyncEngine, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, engine, db) as http:
        yield http
        await _app(http).state.clients.aclose()


@pytest.fixture
async def live_client(
    settings: Settings, engine: AsyncEngine, committed: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, engine, committed) as http:
        yield http
        await _app(http).state.clients.aclose()


@pytest.fixture
async def live_account(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> AsyncIterator[Account]:
    """A registered customer with 1,000.00 in the wallet and the emulator as the default
    server, all committed: for `live_client` tests, whose requests run on connections of their
    own (concurrency and lock-order tests)."""
    async with live_customer(live_client, committed, easypanel, 100_000) as account:
        yield account


def _app(http: httpx.AsyncClient) -> FastAPI:
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return app


def runner_of(http: httpx.AsyncClient) -> Runner:
    """The operation runner of the app behind a test client (to deliver retries on demand)."""
    runner: Runner = _app(http).state.runner
    return runner


@pytest.fixture(scope="session")
def easypanel() -> Iterator[RunningEmulator]:
    """One Easypanel emulator on a loopback port for the session; its clock moves by hand."""
    with running_emulator(dialect="orpc", manual_clock=True, deploy_delay=2.0) as running:
        yield running


@pytest.fixture
async def server(
    easypanel: RunningEmulator, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[EasypanelServer]:
    """The emulator, fresh and fault-free, configured as the default Easypanel server."""
    easypanel.controller.reset()
    yield await configure_emulator(db, easypanel)
    easypanel.controller.reset()


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await register(client, "alice@example.com")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await register(client, "bob@example.com")


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]) -> Account:
    return await make_admin(client, db)


@pytest.fixture
def no_locks_during_calls(
    easypanel: RunningEmulator,
    settings: Settings,
    committed: async_sessionmaker[AsyncSession],
) -> Iterator[LockWatch]:
    """Fail the test if SkyPanel calls Easypanel while one of its database sessions is idle in a
    transaction that wrote or locked rows (see `tests.locks`). Needs `committed` sessions."""
    assert settings.database_url is not None
    with watching(easypanel.controller, settings.database_url) as watch:
        yield watch
    problems = watch.problems()
    if problems:
        pytest.fail(f"Easypanel was called while rows were locked:\n{problems}", pytrace=False)
