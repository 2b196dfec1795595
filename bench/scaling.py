"""Scaling: the billing run and a page of the hot lists at 1x, 10x and 100x data, with the query
plans of the hot queries (which index each uses), and the billing process's peak memory.

    python -m bench.scaling [--base 1000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.billing import DUE
from bench.dataset import seed_platform
from bench.seed import seed_due_subscriptions
from bench.support import scratch_database, settle, table
from skypanel.billing import service as billing
from skypanel.kit import clock
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.models import ContainerPlan, EasypanelServer

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


async def billing_at(count: int) -> float:
    """Seconds for one billing run over `count` due subscriptions (one worker)."""
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=2, max_overflow=0)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            plan = ContainerPlan(
                name="Scale", price_monthly_cents=900, max_cpu_cores=1, max_memory_gb=1,
                max_storage_gb=1, max_containers=1,
            )  # fmt: skip
            session.add(plan)
            await session.commit()
        await seed_due_subscriptions(
            sessions, count=count, plan_id=plan.id, due=DUE, balance_cents=5000
        )
        await settle(url)
        previous = clock.set_source(lambda: DUE + timedelta(minutes=1))
        started = time.perf_counter()
        try:
            report = await billing.run(sessions, batch=500)
        finally:
            clock.set_source(previous)
        elapsed = time.perf_counter() - started
        await engine.dispose()
    assert report.charged == count
    return elapsed


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
    rows = []
    base = args.base
    seconds = [await billing_at(base * factor) for factor in (1, 10, 100)]
    per = [s / (base * f) * 1e6 for s, f in zip(seconds, (1, 10, 100), strict=True)]
    rows.append(
        (
            "billing run (1x, 10x, 100x)",
            f"{base:,}/{base * 10:,}/{base * 100:,} due: "
            + ", ".join(f"{s:.2f} s" for s in seconds)
            + " = " + ", ".join(f"{p:.0f} µs" for p in per) + " a renewal",
        )
    )  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("billing process peak RSS", f"{peak:.0f} MB"))
    sizes = (args.orgs, args.orgs * 10, args.orgs * 100)
    measured = [await lists_at(n) for n in sizes]
    for name in HOT_QUERIES:
        times = ", ".join(f"{m[0][name]:.2f}" for m in measured)
        rows.append((f"{name} (ms at {sizes[0]:,}/{sizes[1]:,}/{sizes[2]:,} orgs)", times))
        rows.append((f"  plan at {sizes[2]:,} orgs", measured[-1][1][name]))
    return rows


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--base", type=int, default=1000, help="due subscriptions at 1x")
    parse.add_argument("--orgs", type=int, default=100, help="organizations at 1x")
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    args = parse.parse_args(argv)
    if args.quick:
        args.base, args.orgs = 50, 10
    return args


if __name__ == "__main__":
    print(table("Scaling", asyncio.run(main(arguments()))))
