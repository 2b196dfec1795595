"""Scaling: the billing run's cost a renewal at 10,000 and 100,000 due (and 1,000,000 with
`--large`), each next to its set-based bound and pgbench; a page of the hot lists at 1x, 10x and
100x data, with the query plans of the hot queries (which index each uses); and the benchmark
process's peak memory.

    python -m bench.scaling [--due 10000 100000] [--large] [--own-server] [--workers 4] [--quick]

`--own-server` runs it all on a PostgreSQL server the benchmark starts and configures for bulk
writes (`bench.support.own_server`), rather than the one `SKYPANEL_BENCH_DATABASE_URL` names.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import billing
from bench.dataset import seed_platform
from bench.support import OWN_SERVER_SETTINGS, own_server, scratch_database, table
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.models import EasypanelServer

HOT_QUERIES = {
    "projects of an organization": (
        "SELECT * FROM container_projects WHERE organization_id = :org ORDER BY created_at"
    ),
    "service counts of an organization": (
        "SELECT project_id, status, count(*) FROM container_services"
        " WHERE organization_id = :org GROUP BY project_id, status"
    ),
    "usage of an organization": (
        "SELECT sum(cpu_limit), sum(memory_limit_gb), sum(storage_limit_gb), count(*)"
        " FROM container_services WHERE organization_id = :org"
    ),
    "ledger page": (
        "SELECT * FROM payment_transactions WHERE organization_id = :org"
        " ORDER BY created_at DESC, id DESC LIMIT 51"
    ),
    "due subscriptions": (
        "SELECT id FROM container_subscriptions WHERE status = 'active'"
        " AND current_period_end <= now() ORDER BY current_period_end, id LIMIT 500"
    ),
}


async def billing_at(sizes: Sequence[int], workers: int, batch: int) -> list[dict[str, float]]:
    """The billing run next to its set-based bound at each size (`bench.billing.measure`)."""
    return [await billing.measure(count, workers, batch) for count in sizes]


def billing_rows(
    sizes: Sequence[int], measured: list[dict[str, float]], tps: float | None
) -> list[tuple[str, str]]:
    """Per-renewal cost at each size with its ratios, and how far the cost moves with size."""
    rows = []
    costs = []
    for count, figures in zip(sizes, measured, strict=True):
        rate, bound = figures["renewals_per_second"], figures["bound_per_second"]
        costs.append(figures["seconds"] / count * 1e6)
        rows.append(
            (
                f"billing at {count:,} due",
                f"{costs[-1]:.0f} µs a renewal ({rate:,.0f}/s in {figures['seconds']:.1f} s);"
                f" bound {bound:,.0f}/s; ratio to bound {billing.ratio(rate, bound)},"
                f" to pgbench {billing.ratio(rate, tps)}",
            )
        )
    rows.append(
        (
            "billing cost a renewal, largest / smallest (goal <= 1.2)",
            f"{max(costs) / min(costs):.2f}",
        )
    )
    rows.append(("pgbench TPC-B tps", f"{tps:,.0f}" if tps else "pgbench not found"))
    return rows


async def lists_at(organizations: int) -> tuple[dict[str, float], dict[str, str]]:
    """Milliseconds for each hot query (mean of 50) and the plan's access path."""
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=2, max_overflow=0)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            server = EasypanelServer(
                api_url="http://127.0.0.1:1", api_key_encrypted="-", api_key_last4="0000"
            )
            session.add(server)
            await session.commit()
        await seed_platform(
            sessions,
            organizations=organizations,
            projects_per_org=5,
            services_per_project=4,
            server_id=server.id,
        )
        org = await _some_org(sessions)
        timings, plans = {}, {}
        async with engine.connect() as connection:
            for name, sql in HOT_QUERIES.items():
                plan = (await connection.execute(text(f"EXPLAIN {sql}"), {"org": org})).scalars()
                plans[name] = _access_path(list(plan))
                started = time.perf_counter()
                for _ in range(50):
                    await connection.execute(text(sql), {"org": org})
                timings[name] = (time.perf_counter() - started) / 50 * 1000
        await engine.dispose()
    return timings, plans


async def _some_org(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        value = await session.scalar(text("SELECT id FROM organizations ORDER BY slug LIMIT 1"))
    return str(value)


def _access_path(lines: list[str]) -> str:
    scans = [
        line.strip().removeprefix("->").strip().split("  (")[0] for line in lines if "Scan" in line
    ]
    return "; ".join(dict.fromkeys(scans)) or lines[0]


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    if not args.own_server:
        return await measured(args)
    async with own_server() as (_, version):
        rows = await measured(args)
    settings = ", ".join(f"{name} {value}" for name, value in OWN_SERVER_SETTINGS.items())
    return [("server", f"the benchmark's own: PostgreSQL {version}, {settings}"), *rows]


async def measured(args: argparse.Namespace) -> list[tuple[str, str]]:
    sizes = args.due + ([1_000_000] if args.large else [])
    renewals = await billing_at(sizes, args.workers, args.batch)
    tps = await billing.pgbench(args.workers, args.pgbench_seconds, args.scale)
    rows = billing_rows(sizes, renewals, tps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("billing process peak RSS", f"{peak:.0f} MB"))
    orgs = (args.orgs, args.orgs * 10, args.orgs * 100)
    measured = [await lists_at(n) for n in orgs]
    for name in HOT_QUERIES:
        times = ", ".join(f"{m[0][name]:.2f}" for m in measured)
        rows.append((f"{name} (ms at {orgs[0]:,}/{orgs[1]:,}/{orgs[2]:,} orgs)", times))
        rows.append((f"  plan at {orgs[2]:,} orgs", measured[-1][1][name]))
    return rows


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument(
        "--due", type=int, nargs="+", default=[10_000, 100_000], help="due subscriptions"
    )
    parse.add_argument("--large", action="store_true", help="also 1,000,000 due (~15 minutes)")
    parse.add_argument(
        "--own-server", action="store_true", help="on a server of its own, set for bulk writes"
    )
    parse.add_argument("--workers", type=int, default=4)
    parse.add_argument("--batch", type=int, default=billing.BATCH)
    parse.add_argument("--pgbench-seconds", type=int, default=15)
    parse.add_argument("--scale", type=int, default=10)
    parse.add_argument("--orgs", type=int, default=100, help="organizations at 1x")
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    args = parse.parse_args(argv)
    if args.quick:
        args.due, args.orgs, args.pgbench_seconds, args.scale = [500, 2_000], 10, 3, 1
    return args


if __name__ == "__main__":
    print(table("Scaling", asyncio.run(main(arguments()))))
