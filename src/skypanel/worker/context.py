"""What background tasks work with: the database, Easypanel clients, the operation runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.operations import catalog  # noqa: F401 (registers the operation handlers)
from skypanel.operations.service import Runner
from skypanel.servers.clients import ClientPool


@dataclass(frozen=True, slots=True)
class WorkerContext:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clients: ClientPool
    runner: Runner


_current: list[WorkerContext] = []


def current() -> WorkerContext:
    if not _current:
        raise RuntimeError("the worker context is not open")
    return _current[-1]


@asynccontextmanager
async def worker_context(settings: Settings) -> AsyncIterator[WorkerContext]:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=5, max_overflow=5)
    sessions = create_sessionmaker(engine)
    clients = ClientPool(sessions)
    context = WorkerContext(engine, sessions, clients, Runner(sessions, clients))
    _current.append(context)
    try:
        yield context
    finally:
        _current.remove(context)
        await clients.aclose()
        await engine.dispose()
