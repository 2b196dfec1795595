"""A panel served by uvicorn in a thread on a loopback port, for tests that need a real server
(the browser tests, the API fuzzer)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import pytest
import uvicorn

from skypanel.app import create_app
from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.servers.service import save as save_server

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end in a thread of its own (Playwright's loop owns the test's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class Panel:
    url: str
    database_url: str
    easypanel: RunningEmulator


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_panel(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    """The panel (with its in-process worker) on empty tables, the emulator as its Easypanel
    server; every table is emptied again when the block ends."""
    assert settings.database_url is not None
    run(empty_all_tables(settings.database_url))
    easypanel.controller.reset()
    served = settings.model_copy(update={"worker_in_process": True})
    try:
        with _serving(served) as url:
            panel = Panel(url, settings.database_url, easypanel)
            run(configure_easypanel(panel))
            yield panel
    finally:
        run(empty_all_tables(settings.database_url))
        easypanel.controller.reset()


async def configure_easypanel(panel: Panel) -> None:
    """The emulator as the default Easypanel server (as the suite's `server` fixture does)."""
    engine = create_engine(panel.database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await save_server(
                session,
                None,
                url=panel.easypanel.base_url,
                api_key=panel.easypanel.token,
                dialect="orpc",
                result=None,
            )
    finally:
        await engine.dispose()


async def empty_all_tables(database_url: str) -> None:
    connection = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await connection.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await connection.close()


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    """Serve the panel (lifespan included) until the block ends; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"panel-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the panel server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
