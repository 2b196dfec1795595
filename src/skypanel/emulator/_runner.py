"""Running the emulator: in a background thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import uvicorn

from skypanel.easypanel import Dialect
from skypanel.emulator._controller import EmulatorController
from skypanel.emulator._world import Era
from skypanel.emulator.app import NodeSize, create_emulator_app

DEFAULT_TOKEN = "emulator-token"


@dataclass(frozen=True, slots=True)
class RunningEmulator:
    base_url: str
    token: str
    dialect: Dialect
    controller: EmulatorController


@contextmanager
def running_emulator(
    *,
    dialect: Dialect = "orpc",
    token: str = DEFAULT_TOKEN,
    era: Era | None = None,
    state_file: Path | None = None,
    deploy_delay: float = 3.0,
    manual_clock: bool = False,
    log_interval: float = 1.0,
    admin_password: str = "",
    node: NodeSize | None = None,
) -> Iterator[RunningEmulator]:
    """Serve an emulator on a free loopback port in a daemon thread for the block's duration."""
    app, controller = create_emulator_app(
        dialect=dialect,
        token=token,
        era=era,
        state_file=state_file,
        deploy_delay=deploy_delay,
        manual_clock=manual_clock,
        log_interval=log_interval,
        admin_password=admin_password,
        node=node,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="easypanel-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the Easypanel emulator did not start")
            time.sleep(0.01)
        yield RunningEmulator(f"http://127.0.0.1:{port}", token, dialect, controller)
    finally:
        controller.release_hangs()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running_emulators(
    *, token: str = DEFAULT_TOKEN, deploy_delay: float = 3.0, manual_clock: bool = False
) -> Iterator[dict[Dialect, RunningEmulator]]:
    """One emulator per dialect, for tests that run against both."""
    start = partial(
        running_emulator, token=token, deploy_delay=deploy_delay, manual_clock=manual_clock
    )
    with start(dialect="orpc") as orpc, start(dialect="trpc") as trpc:
        yield {"orpc": orpc, "trpc": trpc}


def serve_emulator(
    host: str = "127.0.0.1",
    port: int = 8765,
    dialect: Dialect = "orpc",
    token: str = DEFAULT_TOKEN,
    state_file: Path | None = None,
    deploy_delay: float = 3.0,
    admin_password: str = "",
) -> None:
    """Serve an emulator until interrupted (``skypanel easypanel-emulator``)."""
    app, _ = create_emulator_app(
        dialect=dialect,
        token=token,
        state_file=state_file,
        deploy_delay=deploy_delay,
        admin_password=admin_password,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
