"""API throughput and latency against a large platform, each figure next to two ceilings measured
in the same run under the same server, settings and load: the server's (a bare ASGI app answering
a fixed JSON body, `bench.bare`) and the framework's (`/healthz`); and Easypanel calls per view.

    python -m bench.api [--organizations 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import threading

import httpx

from bench.dataset import Dataset, seed_platform
from bench.load import (
    LoadResult,
    Server,
    bare_server,
    connections_by_process,
    panel_server,
    wrk,
    wrk_once,
)
from bench.support import scratch_database, settle, table
from skypanel.config import get_settings, new_encryption_key
from skypanel.emulator import RunningEmulator, running_emulator
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.tokens import issue_access_token
from skypanel.servers.service import save as save_server
from skypanel.web.cookies import CSRF, SESSION

SECRET = secrets.token_urlsafe(48)
KEYS = new_encryption_key()


PROJECT, SERVICE = "p1", "s1"
"""Every benchmark organization has them (`bench.dataset`)."""
PAGES = (
    ("dashboard", "/"),
    ("project", f"/projects/{PROJECT}"),
    ("service", f"/projects/{PROJECT}/services/{SERVICE}"),
    ("wallet", "/wallet"),
    ("billing history", "/billing"),
)


def _token(dataset: Dataset, n: int) -> str:
    return issue_access_token(dataset.user_id(n), "user", 0, key=SECRET, ttl_seconds=7200)


def _signed_in(server: Server, dataset: Dataset, n: int) -> dict[str, str]:
    """A browser's cookies for user `n`: its session, and the CSRF cookie the first page set (a
    browser sends both on every page after that)."""
    login = httpx.post(
        server.url + "/api/auth/login",
        json={"email": dataset.email(n), "password": dataset.password},
        timeout=30,
    )
    login.raise_for_status()
    session = f"{SESSION}={login.json()['refreshToken']}"
    page = httpx.get(server.url + "/", headers={"Cookie": session}, timeout=30)
    if page.status_code != 200:
        raise RuntimeError(f"the dashboard answered {page.status_code}, not 200")
    return {"Cookie": f"{session}; {CSRF}={page.cookies[CSRF]}"}


def _calls(emulator: RunningEmulator, server: Server, path: str, headers: dict[str, str]) -> int:
    before = len(emulator.controller.requests())
    response = httpx.get(server.url + path, headers=headers, timeout=30)
    response.raise_for_status()
    return len(emulator.controller.requests()) - before


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    os.environ.update({"SKYPANEL_SECRET_KEY": SECRET, "SKYPANEL_ENCRYPTION_KEYS": KEYS})
    get_settings.cache_clear()
    with running_emulator(token=secrets.token_urlsafe(16)) as emulator:
        async with scratch_database() as url:
            engine = create_engine(url, pool_size=2, max_overflow=0)
            sessions = create_sessionmaker(engine)
            async with sessions() as session:
                server_row = await save_server(
                    session,
                    None,
                    url=emulator.base_url,
                    api_key=emulator.token,
                    dialect="orpc",
                    result=None,
                )
                await session.commit()
            dataset = await seed_platform(
                sessions,
                organizations=args.organizations,
                projects_per_org=args.projects,
                services_per_project=args.services,
                server_id=server_row.id,
            )
            await engine.dispose()
            await settle(url)
            env = {
                "SKYPANEL_DATABASE_URL": url,
                "SKYPANEL_RATE_LIMIT_ENABLED": "false",
                "SKYPANEL_LOG_LEVEL": "WARNING",
                "SKYPANEL_DATABASE_POOL_SIZE": str(args.pool_size),
            }
            with panel_server(env) as server:
                rows, baseline = await asyncio.to_thread(measure, args, emulator, server, dataset)
            return rows + await asyncio.to_thread(scaling, args, env, dataset, baseline)


def measure(
    args: argparse.Namespace, emulator: RunningEmulator, server: Server, dataset: Dataset
) -> tuple[list[tuple[str, str]], list[LoadResult]]:
    """Every figure next to both ceilings; also the cached read and the dashboard page, which
    `scaling` compares with two workers."""
    one = {"Authorization": f"Bearer {_token(dataset, 1)}"}
    counted = min(dataset.organizations // 2, 5000)
    many = [_token(dataset, n) for n in range(1, counted + 1)]
    load = {"seconds": args.seconds, "connections": args.connections}
    cold = {"connections": args.connections}
    service_path = f"/api/containers/projects/{PROJECT}/services/{SERVICE}"
    # The cold passes' warm-up: the same reads by organizations the passes do not count, so the
    # process has its pool's connections and their prepared statements, and the counted
    # organizations are still read cold.
    spare = [_token(dataset, n) for n in range(counted + 1, min(2 * counted, counted + 1000) + 1)]
    for path, tokens in (("/api/containers/projects", spare[::2]), (service_path, spare[1::2])):
        if len(tokens) >= 2:  # one for each of wrk's threads
            wrk_once(server.url + path, tokens=tokens, **cold)

    def warm(path: str, headers: dict[str, str]) -> LoadResult:
        """A cached read: its caches filled first, by a short run that is not counted."""
        wrk(server.url + path, headers=headers, seconds=1, connections=args.connections)
        return wrk(server.url + path, headers=headers, **load)

    with bare_server() as bare:
        wrk(bare.url + "/", headers={}, seconds=1, connections=args.connections)
        server_ceiling = wrk(bare.url + "/", headers={}, **load)
    framework_ceiling = warm("/healthz", {})
    browser = _signed_in(server, dataset, 1)
    cached = warm("/api/containers/projects", one)
    pages = [(f"{name} page (HTML, browser session)", warm(path, browser)) for name, path in PAGES]
    measured = [
        ("server ceiling: bare ASGI app, fixed JSON", server_ceiling),
        ("framework ceiling: /healthz", framework_ceiling),
        ("projects, cached", cached),
        (
            f"projects, {len(many):,} organizations in turn (each read cold)",
            wrk_once(server.url + "/api/containers/projects", tokens=many, **cold),
        ),
        (
            f"service detail, {len(many):,} services in turn (each read cold)",
            wrk_once(server.url + service_path, tokens=many, **cold),
        ),
        ("usage, cached", warm("/api/containers/subscription/usage", one)),
        *pages,
    ]
    rows = [
        ("data", f"{dataset.organizations:,} organizations, {args.counts_text}"),
        (
            "load",
            f"wrk, 2 threads, {args.connections} connections (the panel's database pool"
            f" {args.pool_size}), {args.seconds} s per endpoint"
            " after a 1 s warm-up that is not counted; the cold reads: one pass, each"
            " organization's token used once, after a pass by other organizations that is"
            " not counted",
        ),
    ]
    for name, result in measured:
        rows.append((name, figure(result, server_ceiling, framework_ceiling)))
    rows.append(("web worker peak RSS", f"{server.peak_rss_mb():.0f} MB"))
    rows += calls_per_view(emulator, server, dataset)
    return rows, [cached, pages[0][1]]


def scaling(
    args: argparse.Namespace, env: dict[str, str], dataset: Dataset, one_worker: list[LoadResult]
) -> list[tuple[str, str]]:
    """The same cached read and page under `--workers 2`, as a ratio to one worker."""
    with panel_server(env, workers=2) as server:
        browser = _signed_in(server, dataset, 1)
        load = {"seconds": args.seconds, "connections": args.connections}
        two, splits = [], []
        for path, headers in (
            ("/api/containers/projects", {"Authorization": f"Bearer {_token(dataset, 1)}"}),
            ("/", browser),
        ):
            wrk(server.url + path, headers=headers, seconds=1, connections=args.connections)
            split: list[int] = []
            halfway = threading.Timer(
                args.seconds / 2, lambda found=split: found.extend(connections_by_process(server))
            )
            halfway.start()
            try:
                two.append(wrk(server.url + path, headers=headers, **load))
            finally:
                halfway.cancel()
                halfway.join()
            splits.append("/".join(map(str, split)))
    rows = []
    for name, single, double, split_text in zip(
        ("projects, cached", "dashboard page"), one_worker, two, splits, strict=True
    ):
        rows.append(
            (
                f"--workers 2: {name}",
                f"{double.requests_per_second:8,.0f} req/s  p99 {double.p99_ms:6.2f} ms"
                f"  x{double.requests_per_second / single.requests_per_second:.2f} of one worker;"
                f" connections {split_text}; cores idle {double.idle_cores:.2f}"
                f" (one worker: {single.idle_cores:.2f}), wrk's {double.wrk_cores:.2f}"
                f" ({single.wrk_cores:.2f})",
            )
        )
    return rows


def figure(result: LoadResult, server: LoadResult, framework: LoadResult) -> str:
    """Throughput, latency and errors, and the throughput as a ratio to both ceilings."""
    rps = result.requests_per_second
    return (
        f"{rps:8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
        f"  errors {result.errors}  vs server {rps / server.requests_per_second:.3f}"
        f"  vs framework {rps / framework.requests_per_second:.3f}"
    )


def calls_per_view(
    emulator: RunningEmulator, server: Server, dataset: Dataset
) -> list[tuple[str, str]]:
    """Easypanel requests made by one page load, first cold (caches empty), then warm."""
    headers = {"Authorization": f"Bearer {_token(dataset, 2)}"}
    project = "/api/containers/projects/p1"
    views = [
        ("dashboard data", "/api/containers/projects"),
        ("project page", project),
        ("service page", f"{project}/services/s1"),
        ("usage", "/api/containers/subscription/usage"),
    ]
    rows = []
    for name, path in views:
        cold = _calls(emulator, server, path, headers)
        warm = _calls(emulator, server, path, headers)
        rows.append((f"Easypanel calls: {name}", f"cold {cold}, warm {warm} (goal <= 1, 0)"))
    return rows


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--organizations", type=int, default=10_000)
    parse.add_argument("--projects", type=int, default=5)
    parse.add_argument("--services", type=int, default=4)
    parse.add_argument("--seconds", type=int, default=10)
    parse.add_argument(
        "--pool-size",
        type=int,
        default=30,
        help="the web process's database connections (wrk's 64 connections: about half at once)",
    )
    parse.add_argument("--connections", type=int, default=64)
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    return parse


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if args.quick:
        args.organizations, args.seconds, args.connections = 200, 2, 16
    total = args.organizations * args.projects
    args.counts_text = f"{total:,} projects, {total * args.services:,} services"
    return args


if __name__ == "__main__":
    print(table("API throughput", asyncio.run(main(arguments()))))
