"""A panel server in its own process, and wrk driving it on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
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


def connections_by_process(server: Server) -> list[int]:
    """The established connections to the server that each of its worker processes holds now,
    most first, none left out (`/proc`): how the kernel has split the load generator's
    connections between processes that accept from one shared listening socket."""
    port = int(server.url.rsplit(":", 1)[1])
    sockets = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port:
            sockets.add(f"socket:[{fields[9]}]")
    workers = [pid for pid in _children(server.pid) if b"resource_tracker" not in _cmdline(pid)]
    return sorted((_held(pid, sockets) for pid in workers or [server.pid]), reverse=True)


def _children(pid: int) -> list[int]:
    """A process's descendants (uvicorn's workers are its supervisor's children)."""
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *_children(int(child))]
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _held(pid: int, sockets: set[str]) -> int:
    held = 0
    with contextlib.suppress(OSError):  # the process ended meanwhile
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # the descriptor was closed meanwhile
                held += os.readlink(fd) in sockets
    return held


@contextmanager
def serve(
    target: str, env: dict[str, str], *, factory: bool = False, workers: int = 1
) -> Iterator[Server]:
    """The ASGI app `target` under `skypanel serve`'s settings (one uvicorn worker unless told)
    on a free port, until the block ends: the panel and the bare ceiling run under the same
    command."""
    port = free_port()
    command = [sys.executable, "-m", "bench.served", target, str(port), str(workers)]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, cwd=ROOT
    )
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
    idle_cores: float = float("nan")
    """The machine's cores left idle during the run, on average (2.0: two idle cores)."""
    wrk_cores: float = float("nan")
    """The cores wrk itself kept busy, on average: the load generator's share of the machine."""

    @property
    def errors(self) -> int:
        """Answers other than 2xx/3xx, and connect, read, write and timeout errors."""
        return self.non_2xx + self.socket_errors


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    return binary


def _command(url: str, headers: dict[str, str], seconds: int, connections: int) -> list[str]:
    command = [_binary(), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


def _result(output: str, requests_per_second: float | None = None) -> LoadResult:
    measured = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    rps = requests_per_second if requests_per_second is not None else float(measured.group(1))  # type: ignore[union-attr]
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


def _idle_ticks() -> tuple[int, int]:
    """All cores' idle (and I/O wait) clock ticks so far, and all their ticks (`/proc/stat`;
    its last two columns, guests' time, are counted in the first two already)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return ticks[3] + ticks[4], sum(ticks)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def wrk(url: str, *, headers: dict[str, str], seconds: int, connections: int) -> LoadResult:
    """wrk with `connections` connections for `seconds`, and how busy it and the machine were."""
    command = _command(url, headers, seconds, connections)
    (idle, total), cpu, started = _idle_ticks(), _children_cpu(), time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    (idle_after, total_after), cpu_after = _idle_ticks(), _children_cpu()
    cores = os.cpu_count() or 1
    return replace(
        _result(output),
        idle_cores=cores * (idle_after - idle) / max(total_after - total, 1),
        wrk_cores=(cpu_after - cpu) / elapsed,
    )


_ONE_PASS = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long sec; long nsec; } spec_t; int clock_gettime(int, spec_t *); ]]
local function now()
  local t = ffi.new("spec_t")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.sec) + tonumber(t.nsec) / 1e9
end
local tokens = {%(tokens)s}
local threads = {}
setup = function(thread) thread:set("id", #threads); table.insert(threads, thread) end
local sent, received, share = 0, 0, math.floor(#tokens / 2)
request = function()
  if sent == 0 then wrk.thread:set("first", now()) end
  local k = (sent %% share) * 2 + wrk.thread:get("id")
  sent = sent + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[k + 1]
  return wrk.format(nil)
end
response = function()
  received = received + 1
  if received == share then
    wrk.thread:set("last", now())
    io.open("%(marks)s/" .. wrk.thread:get("id"), "w"):close()
    wrk.thread:stop()
  end
end
done = function()
  local first, last = nil, nil
  for _, t in ipairs(threads) do
    local f, l = t:get("first"), t:get("last")
    if f and (first == nil or f < first) then first = f end
    if l and (last == nil or l > last) then last = l end
  end
  io.write(string.format("one pass: %%d requests in %%.6f s\\n", share * #threads, last - first))
end
"""


def wrk_once(url: str, *, tokens: list[str], connections: int) -> LoadResult:
    """Every token used for exactly one request (wrk's two threads take alternate ones), so each
    request is the first of its caller: the rate is the requests over the time from the first
    request to the last answer. wrk itself runs for a fixed time, so it is stopped (SIGINT, on
    which it reports) once both threads have had all their answers."""
    with tempfile.TemporaryDirectory() as marks:
        script = Path(marks) / "once.lua"
        listed = ",".join(f'"{t}"' for t in tokens)
        script.write_text(_ONE_PASS % {"tokens": listed, "marks": marks})
        command = _command(url, {}, 600, connections)
        process = subprocess.Popen(
            [*command[:-1], "-s", str(script), command[-1]], stdout=subprocess.PIPE, text=True
        )
        while process.poll() is None and not all((Path(marks) / str(n)).exists() for n in range(2)):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    passed = re.search(r"one pass: (\d+) requests in ([0-9.]+) s", output)
    if passed is None:
        raise RuntimeError(f"wrk did not finish the pass:\n{output}")
    return _result(output, int(passed.group(1)) / float(passed.group(2)))


def _percentile(output: str, label: str) -> float:
    """A latency percentile of wrk's `--latency` table, in milliseconds."""
    match = re.search(rf"^\s*{label}\s+([0-9.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    return _ms(match.group(1), match.group(2)) if match else float("nan")
