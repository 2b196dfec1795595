"""A panel server in its own process, and wrk driving it on loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
"""The repository, on uvicorn's path, so `bench.bare` imports from any working directory."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory (VmHWM), in MB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")


@contextmanager
def serve(
    target: str, env: dict[str, str], *, factory: bool = False, workers: int = 1
) -> Iterator[Server]:
    """The ASGI app `target` under `skypanel serve`'s settings (one uvicorn worker unless told)
    on a free port, until the block ends: the panel and the bare ceiling run under the same
    command."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", target, *(["--factory"] if factory else []),
        "--app-dir", str(ROOT), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{target} did not start")
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def panel_server(env: dict[str, str], *, workers: int = 1) -> AbstractContextManager[Server]:
    return serve("skypanel.app:create_app", env, factory=True, workers=workers)


def bare_server() -> AbstractContextManager[Server]:
    """The server ceiling (`bench.bare`): no framework, a fixed JSON body."""
    return serve("bench.bare:app", {})


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        """Answers other than 2xx/3xx, and connect, read, write and timeout errors."""
        return self.non_2xx + self.socket_errors


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    tokens: list[str] | None = None,
) -> LoadResult:
    """wrk with `connections` connections; with `tokens`, each request uses the next one."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if tokens:
            listed = ",".join(f'"{t}"' for t in tokens)
            script.write(
                f"local tokens = {{{listed}}}\nlocal n = 0\n"
                "request = function()\n  n = n + 1\n"
                "  wrk.headers['Authorization'] = 'Bearer ' .. tokens[(n % #tokens) + 1]\n"
                "  return wrk.format(nil)\nend\n"
            )
    command += ["-s", script.name, url]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return LoadResult(
        requests_per_second=rps,
        p50_ms=_percentile(output, "50%"),
        p99_ms=_percentile(output, "99%"),
        non_2xx=int(errors.group(1)) if errors else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def _percentile(output: str, label: str) -> float:
    """A latency percentile of wrk's `--latency` table, in milliseconds."""
    match = re.search(rf"^\s*{label}\s+([0-9.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    return _ms(match.group(1), match.group(2)) if match else float("nan")
