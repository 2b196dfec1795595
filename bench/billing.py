"""Billing throughput: renewals per second at N due subscriptions, next to pgbench's TPC-B-like
transactions per second on the same PostgreSQL, in the same run.

    python -m bench.billing [--subscriptions 100000] [--workers 4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bench.seed import seed_due_subscriptions
from bench.support import pgbench_tps, scratch_database, table
from skypanel.billing import service as billing
from skypanel.kit import clock
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.models import ContainerPlan

DUE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


async def measure(subscriptions: int, workers: int, batch: int) -> dict[str, float]:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=workers + 2, max_overflow=0)
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
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
        previous = clock.set_source(lambda: DUE + timedelta(minutes=5))
        started = time.perf_counter()
        try:
            reports = await asyncio.gather(
                *(billing.run(sessions, batch=batch) for _ in range(workers))
            )
        finally:
            clock.set_source(previous)
        elapsed = time.perf_counter() - started
        charged = sum(report.charged for report in reports)
        async with sessions() as session:
            cycles = await session.scalar(text("SELECT count(*) FROM container_billing_cycles"))
        await engine.dispose()
    if charged != subscriptions or cycles != subscriptions:
        raise SystemExit(f"billing charged {charged} and wrote {cycles} cycles of {subscriptions}")
    return {"seconds": elapsed, "renewals_per_second": charged / elapsed}


async def pgbench(clients: int, seconds: int, scale: int) -> float | None:
    async with scratch_database(migrate=False) as url:
        return await asyncio.to_thread(
            pgbench_tps, url, clients=clients, seconds=seconds, scale=scale
        )


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    renewals = await measure(args.subscriptions, args.workers, args.batch)
    tps = await pgbench(args.workers, args.pgbench_seconds, args.scale)
    ratio = renewals["renewals_per_second"] / tps if tps else None
    return [
        ("due subscriptions", f"{args.subscriptions:,}"),
        ("billing workers", str(args.workers)),
        ("billing run", f"{renewals['seconds']:.1f} s"),
        ("renewals per second", f"{renewals['renewals_per_second']:,.0f}"),
        ("pgbench TPC-B tps", f"{tps:,.0f}" if tps else "pgbench not found"),
        ("ratio renewals/tps (goal >= 1)", f"{ratio:.2f}" if ratio else "-"),
    ]


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--subscriptions", type=int, default=100_000)
    parse.add_argument("--workers", type=int, default=4)
    parse.add_argument("--batch", type=int, default=500)
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
