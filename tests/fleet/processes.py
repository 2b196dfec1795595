"""Real `skypanel serve` and `skypanel worker` processes on the test database and Redis, and a
round-robin HTTP driver over the web processes that knows which requests a kill took away."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.serving import free_port

LEASE_SECONDS = 5.0
"""The shortest operation lease the settings allow: a killed worker's claims come free soon."""


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """What every process of the panel shares (secrets and test switches come from conftest)."""
    return {
        **os.environ,
        "SKYPANEL_DATABASE_URL": database_url,
        "SKYPANEL_REDIS_URL": redis_url,
        "SKYPANEL_WORKER_IN_PROCESS": "false",
        "SKYPANEL_OPERATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "SKYPANEL_LOG_LEVEL": "ERROR",
    }


@dataclass
class Web:
    process: subprocess.Popen[bytes]
    url: str


def start_web(env: dict[str, str], logs: Path) -> Web:
    port = free_port()
    command = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    return Web(_start(env, command, logs / f"web-{port}.log"), f"http://127.0.0.1:{port}")


def start_worker(env: dict[str, str], logs: Path, n: int) -> subprocess.Popen[bytes]:
    return _start(env, ["worker", "--concurrency", "4"], logs / f"worker-{n}.log")


def _start(env: dict[str, str], command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A `skypanel` process, its errors kept in `log` (for the failure that needs them)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "skypanel", *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )


def wait_ready(web: Web, seconds: float = 40.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if web.process.poll() is not None:
            raise AssertionError(f"the web process at {web.url} exited ({web.process.returncode})")
        try:
            if httpx.get(f"{web.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the web process at {web.url} was not ready within {seconds} s")


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate, then kill what is still there."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Figures:
    sent: int = 0
    succeeded: int = 0
    lost_in_flight: int = 0
    retried: int = 0
    kills: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class Fleet:
    """The live web processes, used in turn. `kill` takes one out of the rotation and SIGKILLs
    it: only the requests it was answering at that moment may fail."""

    def __init__(self, webs: list[Web]) -> None:
        self.webs = list(webs)
        self.figures = Figures()
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._in_flight: Counter[str] = Counter()
        self._killed: set[str] = set()
        self._client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=100))

    def close(self) -> None:
        self._client.close()

    def live(self) -> list[Web]:
        with self._lock:
            return list(self.webs)

    def add(self, web: Web) -> None:
        with self._lock:
            self.webs.append(web)

    def kill(self, web: Web) -> int:
        """Take `web` out of the rotation, SIGKILL it; returns the requests it had in flight."""
        with self._lock:
            self.webs.remove(web)
            self._killed.add(web.url)
            in_flight = self._in_flight[web.url]
        web.process.send_signal(signal.SIGKILL)
        web.process.wait(timeout=10)
        self.figures.kills += 1
        return in_flight

    def call(
        self, method: str, path: str, expected: set[int], *, via: Web | None = None, **kw: Any
    ) -> httpx.Response:
        """One request through the next live process (or `via`), its status one of `expected`.
        A request lost because its process was killed under it is sent again to a live one, as
        a load balancer's client would; then 409 also counts (the lost one did the work)."""
        response, retried = self._send(method, path, via, **kw)
        allowed = expected | {409} if retried else expected
        if response.status_code not in allowed:
            with self._lock:
                self.figures.problems.append(
                    f"{method} {path}: {response.status_code} {response.text[:300]}"
                )
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def _send(
        self, method: str, path: str, via: Web | None, retried: bool = False, **kw: Any
    ) -> tuple[httpx.Response, bool]:
        with self._lock:
            web = via or self.webs[next(self._turn) % len(self.webs)]
            self._in_flight[web.url] += 1
            self.figures.sent += 1
        try:
            response = self._client.request(method, f"{web.url}{path}", **kw)
        except httpx.TransportError as exc:
            with self._lock:
                killed = web.url in self._killed
                if killed:
                    self.figures.lost_in_flight += 1
                    self.figures.retried += 1
                else:
                    self.figures.problems.append(f"{method} {path} on {web.url}: {exc!r}")
            if not killed:
                raise
            return self._send(method, path, None, True, **kw)
        finally:
            with self._lock:
                self._in_flight[web.url] -= 1
        with self._lock:
            self.figures.statuses[response.status_code] += 1
            if response.status_code < 500:
                self.figures.succeeded += 1
        return response, retried
