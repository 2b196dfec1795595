"""What background tasks work with: the database, Easypanel clients, the operation runner, the
payment providers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit import uow
from skypanel.kit.cache import Cache
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.notices.mail import Mailer
from skypanel.operations.service import Runner
from skypanel.payments.gateways import Gateways
from skypanel.servers.clients import ClientPool
from skypanel.wiring import ProcessEffects, inline, mailer_for, runner_for, webhooks_for


@dataclass(frozen=True, slots=True)
class WorkerContext:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clients: ClientPool
    runner: Runner
    gateways: Gateways
    mailer: Mailer
    webhooks: Callable[[], Awaitable[int]]
    cache: Cache
    settings: Settings


_current: list[WorkerContext] = []


def current() -> WorkerContext:
    if not _current:
        raise RuntimeError("the worker context is not open")
    return _current[-1]


@asynccontextmanager
async def worker_context(
    settings: Settings, cache: Cache | None = None
) -> AsyncIterator[WorkerContext]:
    """The worker's database and runner. Its commits drop cached reads in `cache` (the web
    process's own when the worker runs inside it; Redis reaches every process) and deliver the
    operations they recorded right here."""
    assert settings.database_url is not None
    engine = create_engine(
        settings.database_url, pool_size=10, max_overflow=0, pgbouncer=settings.database_pgbouncer
    )
    sessions = create_sessionmaker(engine)
    clients = ClientPool(sessions)
    runner = runner_for(sessions, clients, settings)
    own_cache = cache is None
    cache = cache or Cache(settings.redis_url)
    mailer = mailer_for(sessions, settings)
    webhooks = webhooks_for(sessions, lambda: settings)
    uow.install(sessions, ProcessEffects(cache, inline(runner), mailer, webhooks))
    context = WorkerContext(
        engine, sessions, clients, runner, Gateways(settings), mailer, webhooks, cache, settings
    )
    _current.append(context)
    try:
        yield context
    finally:
        _current.remove(context)
        await clients.aclose()
        if own_cache:
            await cache.aclose()
        await engine.dispose()
