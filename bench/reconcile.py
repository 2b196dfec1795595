"""Drift reconciliation across a fleet: emulated Easypanel servers (one process each) holding
20,000 services each, the same records in a benchmark database, and a few hundred services of
drift (missing, created behind SkyPanel's back, made unsafe, started again after a safety stop,
unknown projects). One full reconciliation runs in a fresh process, timed with its CPU time and
peak resident memory, then is checked: exactly the injected drift found and repaired (records,
stop operations delivered, Easypanel's tasks), and a second run finds nothing new.

    python -m bench.reconcile [--servers 10] [--services 20000] [--quick] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import text

from bench.fleet import Drift, Emulated, Layout, emulators, seed_database, seed_emulators
from bench.support import scratch_database, settle, table
from skypanel.config import Settings, get_settings, new_encryption_key
from skypanel.easypanel import EasypanelClient
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.logging import configure_logging
from skypanel.reconcile.service import DriftReport, reconcile
from skypanel.servers.clients import ClientPool
from skypanel.wiring import runner_for

LISTING = "projects.listProjectsAndServices"


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    rest_mb: float
    listing_seconds: float
    """Summed over the servers: time inside the listing calls (the emulator's answer, its
    transfer, and its decoding and comparison, done as it arrives), overlapping when servers
    are listed side by side."""
    report: DriftReport


def measure_once(url: str, profile: str | None, memray: str | None) -> Measured:
    """One reconciliation in this (fresh) process: what a worker running it would hold. With
    `profile`, run under pyinstrument and its report written there; with `memray`, its
    allocations recorded there (`memray tree FILE` shows what was held at the peak)."""
    if memray:
        from memray import Tracker

        with Tracker(memray):
            return asyncio.run(_measure(url))
    if not profile:
        return asyncio.run(_measure(url))
    from pyinstrument import Profiler

    with Profiler(async_mode="disabled") as profiler:
        measured = asyncio.run(_measure(url))
    Path(profile).write_text(profiler.output_text(unicode=True), encoding="utf-8")
    return measured


async def _measure(url: str) -> Measured:
    configure_logging("WARNING")
    engine = create_engine(url, pool_size=4, max_overflow=4)
    sessions = create_sessionmaker(engine)
    clients = ClientPool(sessions)
    rest = _memory("VmRSS")
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    report = await reconcile(sessions, clients)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    await clients.aclose()
    await engine.dispose()
    listing = REGISTRY.get_sample_value(
        "skypanel_easypanel_call_seconds_sum",
        {"procedure": LISTING, "dialect": "orpc", "outcome": "ok"},
    )
    return Measured(
        seconds,
        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        _memory("VmHWM"),
        rest,
        listing or 0.0,
        report,
    )


def _memory(field: str) -> float:
    """MB of this process from /proc (VmHWM: its peak resident set). Unlike `ru_maxrss`, these
    start afresh at exec, so the benchmark's own size does not leak into a child's figure."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _in_fresh_process(url: str, profile: str | None = None, memray: str | None = None) -> Measured:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure_once, url, profile, memray).result()


async def _listing_alone(fleet: list[Emulated]) -> list[float]:
    """Seconds each emulator takes to answer the listing, the body read and not decoded."""
    import httpx

    timings = []
    async with httpx.AsyncClient(timeout=300) as http:
        for emulated in fleet:
            started = time.perf_counter()
            response = await http.post(
                f"{emulated.url}/api/rpc/projects/listProjectsAndServices",
                json={"json": None},
                headers={"Authorization": f"Bearer {emulated.token}"},
            )
            response.raise_for_status()
            timings.append(time.perf_counter() - started)
    return timings


def _check(report: DriftReport, drift: Drift, *, first: bool) -> None:
    expected = (
        (drift.missing, drift.imported, drift.stopped)
        if first
        else ([], [], [])
    )  # fmt: skip
    found = (sorted(report.missing), sorted(report.imported), sorted(report.stopped_unsafe))
    if found != expected or sorted(report.unknown_projects) != drift.unknown:
        unknown = (sorted(report.unknown_projects), drift.unknown)
        raise AssertionError(f"found {found}, {unknown[0]}; injected {expected}, {unknown[1]}")
    if len(report.operations) != (len(drift.stopped) if first else 0):
        raise AssertionError(f"{len(report.operations)} stop operations queued")


async def _check_records(url: str, drift: Drift) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT p.easypanel_project_name || '/' || s.easypanel_service_name, s.status,"
                " s.desired_state, s.configuration ? 'imported'"
                " FROM container_services s JOIN container_projects p ON p.id = s.project_id"
                " WHERE s.status <> 'running' OR s.desired_state <> 'running'"
                " OR s.configuration ? 'imported'"
            )
        )
        changed = {where: tuple(rest) for where, *rest in rows.all()}
    await engine.dispose()
    expected = {where: ("missing", "running", False) for where in drift.missing}
    expected |= {where: ("running", "running", True) for where in drift.imported}
    expected |= {where: ("running", "stopped", False) for where in drift.stopped_new}
    expected |= {where: ("stopped", "stopped", False) for where in drift.marked}
    if changed != expected:
        wrong = {k: (changed.get(k), expected.get(k)) for k in changed.keys() ^ expected.keys()}
        raise AssertionError(f"records differ from the drift injected: {wrong}")


async def _deliver(url: str, report: DriftReport, fleet: list[Emulated], drift: Drift) -> float:
    """Deliver the stop operations; Easypanel then runs no task of a stopped service."""
    engine = create_engine(url, pool_size=4, max_overflow=0)
    sessions = create_sessionmaker(engine)
    clients = ClientPool(sessions)
    started = time.perf_counter()
    statuses = await runner_for(sessions, clients, Settings()).run_all(report.operations)
    seconds = time.perf_counter() - started
    await clients.aclose()
    await engine.dispose()
    if any(status != "succeeded" for status in statuses):
        raise AssertionError(f"stop operations did not all succeed: {set(statuses)}")
    stopped = set()
    for emulated in fleet:
        async with EasypanelClient(emulated.url, emulated.token, dialect="orpc") as client:
            tasks = await client.get_task_stats()
        stopped |= {name for name, stats in tasks.items() if stats.desired == 0}
    if stopped != drift.stopped_tasks:
        raise AssertionError(f"Easypanel stopped {len(stopped)}, not {len(drift.stopped_tasks)}")
    return seconds


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    os.environ["SKYPANEL_ENCRYPTION_KEYS"] = new_encryption_key()
    configure_logging("WARNING")
    get_settings.cache_clear()
    layout = Layout(secrets.token_hex(3), args.servers, args.services)
    with emulators(args.servers) as fleet:
        async with scratch_database() as url:
            started = time.perf_counter()
            await seed_database(url, layout, fleet)
            drift = await seed_emulators(layout, fleet)
            await settle(url)
            seeded = time.perf_counter() - started
            alone = await _listing_alone(fleet)
            first = await asyncio.to_thread(_in_fresh_process, url, args.profile, args.memray)
            _check(first.report, drift, first=True)
            await _check_records(url, drift)
            delivered = await _deliver(url, first.report, fleet, drift)
            second = await asyncio.to_thread(_in_fresh_process, url)
            _check(second.report, drift, first=False)
    return _rows(args, layout, drift, seeded, alone, first, delivered, second)


def _rows(
    args: argparse.Namespace,
    layout: Layout,
    drift: Drift,
    seeded: float,
    alone: list[float],
    first: Measured,
    delivered: float,
    second: Measured,
) -> list[tuple[str, str]]:
    total = layout.servers * layout.services
    rows = [
        ("fleet", f"{layout.servers} servers x {layout.services:,} services = {total:,}"),
        ("drift injected", drift.summary()),
        ("seeding (database + emulators)", f"{seeded:.1f} s"),
        (
            "emulator listing alone",
            f"{sum(alone) / len(alone):.2f} s a server, {sum(alone):.1f} s for all, one by one",
        ),
    ]
    for name, run in (("reconciliation with drift", first), ("again, nothing new", second)):
        rows += [
            (name, f"{run.seconds:.1f} s = {run.seconds / total * 1e6:.0f} µs a service"),
            (
                "  CPU of the process / waiting",
                f"{run.cpu_seconds:.1f} s / {max(0.0, run.seconds - run.cpu_seconds):.1f} s",
            ),
            ("  inside listing calls (summed)", f"{run.listing_seconds:.1f} s"),
            ("  peak RSS (at rest before)", f"{run.peak_mb:.0f} MB ({run.rest_mb:.0f} MB)"),
        ]
    rows.append(("stop operations delivered", f"{len(drift.stopped)} in {delivered:.1f} s"))
    rows.append(("drift found = drift injected", "yes (records, operations, Easypanel tasks)"))
    return rows


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--servers", type=int, default=10, help="emulated Easypanel servers")
    parse.add_argument("--services", type=int, default=20_000, help="services per server")
    parse.add_argument("--profile", help="write a pyinstrument profile of the first run here")
    parse.add_argument("--memray", help="record the first run's allocations in this file")
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    args = parse.parse_args(argv)
    if args.quick:
        args.servers, args.services = 2, 2_000
    return args


if __name__ == "__main__":
    print(table("Drift reconciliation", asyncio.run(main(arguments()))))
