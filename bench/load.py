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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


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
def panel_server(env: dict[str, str]) -> Iterator[Server]:
    """`skypanel serve` settings (one uvicorn worker) on a free port, until the block ends."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "skypanel.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
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
            raise RuntimeError("the panel did not start")
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    p99_ms: float
    non_2xx: int


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
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return LoadResult(
        requests_per_second=rps,
        p99_ms=_ms(p99.group(1), p99.group(2)) if p99 else float("nan"),
        non_2xx=int(errors.group(1)) if errors else 0,
    )
