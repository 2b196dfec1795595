"""Admin lists and overview at scale: 1,000,000 services and 100,000 subscriptions (set-based
seed), the database time of the first and the 1,000th page of each list with each filter and a
search, and of the overview; next to the OFFSET pages and table counts they replace.

    python -m bench.admin [--services 1000000] [--subscriptions 100000] [--page 1000] [--quick]

Database time is the server's own (`EXPLAIN (ANALYZE, BUFFERS)`: planning + execution) of the
statement the repository sends, with its parameters, median and max of `--runs`; "call" is the
repository function timed around the round trip and the ORM rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.admin_seed import seed
from bench.support import scratch_database, settle, table
from skypanel.admin import repository as admin
from skypanel.kit import clock
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.pagination import DEFAULT_LIMIT, encode_cursor, encode_match_cursor
from skypanel.monitoring import repository as monitoring
from skypanel.monitoring.schemas import Filters
from skypanel.monitoring.service import BILLING_WINDOW, fold_counts

# The overview and a page as they were read before keyset pages and kept counts.
OLD_OVERVIEW = [
    "SELECT status, count(*) FROM container_subscriptions GROUP BY status",
    "SELECT service_type, status, count(*) FROM container_services GROUP BY 1, 2",
    "SELECT coalesce(sum(p.price_monthly_cents), 0) FROM container_plans p"
    " JOIN container_subscriptions s ON s.plan_id = p.id WHERE s.status IN ('active', 'past_due')",
    "SELECT count(*) FILTER (WHERE status IN ('billed', 'refunded')), count(*) FILTER"
    " (WHERE status IN ('failed', 'void')) FROM container_billing_cycles"
    " WHERE created_at >= now() - interval '30 days'",
    "SELECT count(*) FROM container_projects",
]
OLD_SERVICES_PAGE = (
    "SELECT s.*, p.project_name, o.name FROM container_services s"
    " JOIN container_projects p ON p.id = s.project_id"
    " JOIN organizations o ON o.id = s.organization_id"
    " ORDER BY s.created_at DESC, s.id LIMIT 50 OFFSET :offset"
)

Lister = Callable[[AsyncSession, str | None], Awaitable[Any]]


class Captured:
    """The last statement the engine sent, with its parameters (to EXPLAIN it as sent)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statement = ""
        self.parameters: Any = ()
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.startswith("EXPLAIN"):
            self.statement, self.parameters = statement, parameters


async def _explain(engine: AsyncEngine, sql: str, parameters: Any) -> tuple[float, int, str]:
    """Planning + execution ms, shared buffers touched, and the scans of the plan."""
    async with engine.connect() as connection:
        raw = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", parameters
        )
        value = raw.scalar_one()
    [plan] = json.loads(value) if isinstance(value, str) else value
    top = plan["Plan"]
    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return plan["Planning Time"] + plan["Execution Time"], buffers, _scans(top)


def _scans(node: dict[str, Any]) -> str:
    found: list[str] = []

    def walk(n: dict[str, Any]) -> None:
        if "Scan" in n["Node Type"]:
            found.append(f"{n['Node Type']} {n.get('Index Name', n.get('Relation Name', ''))}")
        for child in n.get("Plans", []):
            walk(child)

    walk(node)
    return "; ".join(dict.fromkeys(found))


async def measure(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    captured: Captured,
    call: Callable[[AsyncSession], Awaitable[Any]],
    runs: int,
) -> str:
    """Run `call` once to warm up and capture its statement, then time both ways."""
    async with sessions() as session:
        await call(session)
    sql, parameters = captured.statement, captured.parameters
    calls, database = [], []
    buffers, scans = 0, ""
    for _ in range(runs):
        async with sessions() as session:
            started = time.perf_counter()
            await call(session)
            calls.append((time.perf_counter() - started) * 1000)
        elapsed, buffers, scans = await _explain(engine, sql, parameters)
        database.append(elapsed)
    return (
        f"db {statistics.median(database):.2f} ms (max {max(database):.2f}),"
        f" call {statistics.median(calls):.2f} ms, {buffers} buffers; {scans}"
    )


async def _deep_cursor(
    engine: AsyncEngine, sql: str, params: dict[str, Any], page: int
) -> tuple[int, str] | None:
    """The page to measure (`page`, or the last when there are fewer) and the cursor that
    starts it (from the row before it, found once with OFFSET); None with one page only.
    `sql` selects (order key, id) in the list's order."""
    async with engine.connect() as connection:
        total = await connection.scalar(text(f"SELECT count(*) FROM ({sql}) AS listed"), params)
        page = min(page, -(-int(total or 0) // DEFAULT_LIMIT))
        if page <= 1:
            return None
        key, row_id = (
            await connection.execute(
                text(f"{sql} OFFSET :skip LIMIT 1"),
                {**params, "skip": (page - 1) * DEFAULT_LIMIT - 1},
            )
        ).one()
    if isinstance(key, str):
        return page, encode_match_cursor(key, row_id)
    return page, encode_cursor(key, row_id)


NEWEST = " ORDER BY created_at DESC, id DESC"


def _by_key(key: str, table: str, where: str) -> str:
    return f'SELECT {key} COLLATE "C" AS k, id FROM {table} WHERE {where} ORDER BY k, id'


def _lists(org: uuid.UUID, server: uuid.UUID) -> dict[str, tuple[Lister, str, dict[str, Any]]]:
    """name: (the repository call, SQL of (order key, id) in its order, its parameters)."""

    def services(filters: Filters) -> Lister:
        return lambda s, c: monitoring.services_page(s, filters, cursor=c, limit=DEFAULT_LIMIT)

    def subscriptions(filters: Filters) -> Lister:
        return lambda s, c: monitoring.subscriptions_page(s, filters, cursor=c, limit=DEFAULT_LIMIT)

    def organizations(search: str | None) -> Lister:
        return lambda s, c: admin.organizations_page(
            s, search=search, cursor=c, limit=DEFAULT_LIMIT
        )

    def users_(search: str | None) -> Lister:
        return lambda s, c: admin.users_page(s, search=search, cursor=c, limit=DEFAULT_LIMIT)

    svc = "SELECT created_at, id FROM container_services"
    sub = "SELECT created_at, id FROM container_subscriptions"
    name = "lower(service_name)"
    return {
        "services": (services(Filters()), svc + NEWEST, {}),
        "services status=failed": (
            services(Filters(status="failed")), f"{svc} WHERE status = 'failed'{NEWEST}", {}
        ),
        "services type=postgres": (
            services(Filters(service_type="postgres")),
            f"{svc} WHERE service_type = 'postgres'{NEWEST}", {},
        ),
        "services status=stopped type=mongo": (
            services(Filters(status="stopped", service_type="mongo")),
            f"{svc} WHERE status = 'stopped' AND service_type = 'mongo'{NEWEST}", {},
        ),
        "services organization": (
            services(Filters(organization=org)),
            f"{svc} WHERE organization_id = :org{NEWEST}", {"org": org},
        ),
        "services server": (
            services(Filters(server_id=server)),
            f"{svc} WHERE server_id = :server{NEWEST}", {"server": server},
        ),
        "services search 'web' (1 in 10)": (
            services(Filters(search="web")),
            _by_key(name, "container_services", f"{name} LIKE 'web%'"), {},
        ),
        "services search 'auth-3' (1 in 50)": (
            services(Filters(search="auth-3")),
            _by_key(name, "container_services", f"{name} LIKE 'auth-3%'"), {},
        ),
        "services search 'old' (the 2% oldest)": (
            services(Filters(search="old")),
            _by_key(name, "container_services", f"{name} LIKE 'old%'"), {},
        ),
        "services search 'web' status=failed": (
            services(Filters(search="web", status="failed")),
            _by_key(name, "container_services", f"{name} LIKE 'web%' AND status = 'failed'"), {},
        ),
        "services search 'web' type=mongo (none)": (
            services(Filters(search="web", service_type="mongo")),
            _by_key(name, "container_services", f"{name} LIKE 'web%' AND service_type = 'mongo'"),
            {},
        ),
        "subscriptions": (subscriptions(Filters()), sub + NEWEST, {}),
        "subscriptions status=past_due": (
            subscriptions(Filters(status="past_due")),
            f"{sub} WHERE status = 'past_due'{NEWEST}", {},
        ),
        "subscriptions search 'acme' (1 in 10)": (
            subscriptions(Filters(search="acme")),
            'SELECT lower(o.name) COLLATE "C" AS k, s.id FROM container_subscriptions s'
            " JOIN organizations o ON o.id = s.organization_id"
            " WHERE lower(o.name) LIKE 'acme%' ORDER BY k, s.id", {},
        ),
        "organizations": (
            organizations(None), "SELECT created_at, id FROM organizations" + NEWEST, {}
        ),
        "organizations search 'hooli' (1 in 10)": (
            organizations("hooli"),
            _by_key("lower(name)", "organizations", "lower(name) LIKE 'hooli%'"), {},
        ),
        "users": (users_(None), "SELECT created_at, id FROM users" + NEWEST, {}),
        "users search 'user-1' (1 in 9)": (
            users_("user-1"), _by_key("email", "users", "email LIKE 'user-1%'"), {},
        ),
    }  # fmt: skip


def _page(lister: Lister, cursor: str | None) -> Callable[[AsyncSession], Awaitable[Any]]:
    return lambda session: lister(session, cursor)


async def main(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=2, max_overflow=0)
        sessions = create_sessionmaker(engine)
        started = time.perf_counter()
        params = await seed(sessions, services=args.services, subscriptions=args.subscriptions)
        folded = await fold_counts(sessions)
        async with sessions() as session:
            services = await session.scalar(text("SELECT count(*) FROM container_services"))
        await settle(url)
        rows.append(
            (
                "seeded",
                f"{services:,} services, {args.subscriptions:,} subscriptions, organizations and"
                f" users in {time.perf_counter() - started:.0f} s ({folded} count changes folded)",
            )
        )
        captured = Captured(engine)
        org = uuid.UUID(
            await _scalar(engine, "SELECT organization_id FROM container_services LIMIT 1")
        )
        for name, (lister, sql, sql_params) in _lists(org, params["server"]).items():
            rows.append((f"{name}: page 1", await measure(
                engine, sessions, captured, _page(lister, None), args.runs
            )))  # fmt: skip
            deep = await _deep_cursor(engine, sql, sql_params, args.page)
            if deep is None:
                rows.append((f"{name}: page {args.page:,}", "one page only"))
                continue
            page, cursor = deep
            rows.append((f"{name}: page {page:,}", await measure(
                engine, sessions, captured, _page(lister, cursor), args.runs
            )))  # fmt: skip
        rows += await _overview(engine, sessions, captured, args)
        rows.append((f"before: services page {args.page:,} by OFFSET", await _old(
            engine, [OLD_SERVICES_PAGE], {"offset": (args.page - 1) * DEFAULT_LIMIT}, args.runs
        )))  # fmt: skip
        await engine.dispose()
    return rows


async def _overview(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    captured: Captured,
    args: argparse.Namespace,
) -> list[tuple[str, str]]:
    since = (clock.now() - BILLING_WINDOW).replace(minute=0, second=0, microsecond=0)
    rows = [
        ("overview counts (folded)", await measure(
            engine, sessions, captured,
            lambda s: monitoring.counts(s, billing_since=since), args.runs,
        )),
    ]  # fmt: skip
    async with engine.begin() as connection:
        for n in range(args.pending):
            await connection.execute(
                text(
                    "UPDATE container_services SET status = CASE status WHEN 'running'"
                    " THEN 'stopped' ELSE 'running' END"
                    " WHERE id = (SELECT id FROM container_services OFFSET :n LIMIT 1)"
                ),
                {"n": n},
            )
    rows.append((f"overview counts ({args.pending:,} changes pending)", await measure(
        engine, sessions, captured, lambda s: monitoring.counts(s, billing_since=since), args.runs
    )))  # fmt: skip
    rows.append(("overview operations", await measure(
        engine, sessions, captured, monitoring.operations, args.runs
    )))  # fmt: skip
    rows.append(("before: overview by counting the tables", await _old(
        engine, OLD_OVERVIEW, {}, max(3, args.runs // 5)
    )))  # fmt: skip
    return rows


async def _old(
    engine: AsyncEngine, statements: list[str], params: dict[str, Any], runs: int
) -> str:
    """Database time of statements the old code sent (summed per run), median and max."""
    totals = []
    async with engine.connect() as connection:
        for _ in range(runs + 1):
            total = 0.0
            for sql in statements:
                raw = await connection.execute(
                    text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params
                )
                value = raw.scalar_one()
                [plan] = json.loads(value) if isinstance(value, str) else value
                total += plan["Planning Time"] + plan["Execution Time"]
            totals.append(total)
    totals = totals[1:]
    return f"db {statistics.median(totals):.2f} ms (max {max(totals):.2f})"


async def _scalar(engine: AsyncEngine, sql: str) -> str:
    async with engine.connect() as connection:
        return str(await connection.scalar(text(sql)))


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parse = argparse.ArgumentParser(description=__doc__)
    parse.add_argument("--services", type=int, default=1_000_000)
    parse.add_argument("--subscriptions", type=int, default=100_000, help="and organizations")
    parse.add_argument("--page", type=int, default=1000, help="the deep page to measure")
    parse.add_argument("--runs", type=int, default=20, help="timed runs of each query")
    parse.add_argument("--pending", type=int, default=1000, help="count changes not folded")
    parse.add_argument("--quick", action="store_true", help="a small run, for CI")
    args = parse.parse_args(argv)
    if args.quick:
        args.services, args.subscriptions, args.page, args.runs, args.pending = (
            20_000, 2_000, 20, 5, 100
        )  # fmt: skip
    return args


if __name__ == "__main__":
    print(table("Admin lists and overview", asyncio.run(main(arguments()))))
