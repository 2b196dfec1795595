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
from pydantic import SecretStr

from skypanel.app import create_app
from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.servers.service import save as save_server
from skypanel.standins.stripe import running_stripe

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_panel(
    settings: Settings, easypanel: RunningEmulator, *, port: int | None = None
) -> Iterator[Panel]:
    """The panel (with its in-process worker) on empty tables, the emulator as its Easypanel
    server; every table is emptied again when the block ends. `port` when its address must be
    known before it starts (a provider's webhook registered first)."""
    assert settings.database_url is not None
    run(empty_all_tables(settings.database_url))
    easypanel.controller.reset()
    port = port or free_port()
    served = settings.model_copy(
        update={"worker_in_process": True, "public_url": f"http://127.0.0.1:{port}"}
    )
    try:
        with _serving(served, port) as url:
            panel = Panel(url, settings.database_url, easypanel)
            run(configure_easypanel(panel))
            yield panel
    finally:
        run(empty_all_tables(settings.database_url))
        easypanel.controller.reset()


@contextmanager
def running_panel_with_stripe(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    """`running_panel` taking card payments through the Stripe stand-in, its webhook pointed at
    the panel (one Stripe stand-in runs per process at a time)."""
    with running_stripe() as stripe:
        configured = settings.model_copy(
            update={
                "stripe_secret_key": SecretStr(stripe.secret_key),
                "stripe_webhook_secret": SecretStr(stripe.webhook_secret),
                "stripe_api_base": stripe.base_url,
            }
        )
        with running_panel(configured, easypanel) as running:
            stripe.register_webhook(f"{running.url}/api/payments/stripe/webhook")
            yield running


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
def _serving(settings: Settings, port: int) -> Iterator[str]:
    """Serve the panel (lifespan included) until the block ends; yields its base URL."""
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
