"""Billing throughput: renewals per second at N due subscriptions, next to two bounds measured on
the same PostgreSQL in the same run: the same renewals done set-based (`bench.bound`) and
pgbench's TPC-B-like transactions per second.

    python -m bench.billing [--subscriptions 100000] [--workers 4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from bench.bound import fingerprint, set_based_renewals
from bench.seed import seed_due_subscriptions
from bench.support import database_copy, pgbench_tps, scratch_database, settle, table
from skypanel.billing import service as billing
from skypanel.kit import clock
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.models import ContainerPlan

BATCH = billing.BATCH
DUE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
NOW = DUE + timedelta(minutes=5)


async def measure(subscriptions: int, workers: int, batch: int) -> dict[str, float]:
    """The billing run and the set-based bound over the same due subscriptions: seeded once,
    copied, each renewing its own copy, both settled first; the bound must leave what the run
    leaves (`bound.fingerprint`)."""
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=2, max_overflow=0)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            plan = ContainerPlan(
                name="Bench", price_monthly_cents=1500, max_cpu_cores=1, max_memory_gb=1,
                max_storage_gb=10, max_containers=5,
            )  # fmt: skip
            session.add(plan)
            await session.commit()
        await seed_due_subscriptions(
            sessions, count=subscriptions, plan_id=plan.id, due=DUE, balance_cents=10_000
        )
        await engine.dispose()
        async with database_copy(url) as copy:
            await settle(copy)
            renewed, bound_seconds = await set_based_renewals(copy, NOW)
            await settle(url)
            elapsed, charged = await billing_run(url, workers, batch)
            same = await fingerprint(url) == await fingerprint(copy)
    if charged != subscriptions or renewed != subscriptions:
        raise SystemExit(
            f"of {subscriptions} due, billing charged {charged} and the bound renewed {renewed}"
        )
    if not same:
        raise SystemExit("the set-based bound did not leave the rows the billing run left")
    return {
        "seconds": elapsed,
        "renewals_per_second": charged / elapsed,
        "bound_seconds": bound_seconds,
        "bound_per_second": renewed / bound_seconds,
    }


async def billing_run(url: str, workers: int, batch: int) -> tuple[float, int]:
    """`workers` concurrent billing runs at `NOW`: (seconds, renewals charged)."""
    engine = create_engine(url, pool_size=workers + 2, max_overflow=0)
    sessions = create_sessionmaker(engine)
    previous = clock.set_source(lambda: NOW)
    started = time.perf_counter()
    try:
        reports = await asyncio.gather(
            *(billing.run(sessions, batch=batch) for _ in range(workers))
        )
        elapsed = time.perf_counter() - started
    finally:
        clock.set_source(previous)
        await engine.dispose()
    return elapsed, sum(report.charged for report in reports)


async def pgbench(clients: int, seconds: int, scale: int) -> float | None:
    async with scratch_database(migrate=False) as url:
        return await asyncio.to_thread(
            pgbench_tps, url, clients=clients, seconds=seconds, scale=scale
        )


def ratio(value: float, to: float | None) -> str:
    return f"{value / to:.2f}" if to else "-"


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    renewals = await measure(args.subscriptions, args.workers, args.batch)
    tps = await pgbench(args.workers, args.pgbench_seconds, args.scale)
    rate, bound = renewals["renewals_per_second"], renewals["bound_per_second"]
    return [
        ("due subscriptions", f"{args.subscriptions:,}"),
        ("billing workers", str(args.workers)),
        ("billing run", f"{renewals['seconds']:.2f} s"),
        ("renewals per second", f"{rate:,.0f}"),
        (
            "set-based bound (one transaction)",
            f"{bound:,.0f} renewals/s ({renewals['bound_seconds']:.2f} s), same rows but invoices",
        ),
        ("pgbench TPC-B tps", f"{tps:,.0f}" if tps else "pgbench not found"),
        ("ratio renewals/bound (goal >= 0.5)", ratio(rate, bound)),
        ("ratio renewals/tps (goal >= 1)", ratio(rate, tps)),
    ]


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--subscriptions", type=int, default=100_000)
    parse.add_argument("--workers", type=int, default=4)
    parse.add_argument("--batch", type=int, default=BATCH)
    parse.add_argument("--pgbench-seconds", type=int, default=15)
    parse.add_argument("--scale", type=int, default=10)
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    return parse


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if args.quick:
        args.subscriptions, args.pgbench_seconds, args.scale = 2_000, 3, 1
    return args


if __name__ == "__main__":
    print(table("Billing throughput", asyncio.run(main(arguments()))))
