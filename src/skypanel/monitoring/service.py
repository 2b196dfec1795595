from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.pagination import Page
from skypanel.monitoring import repository
from skypanel.monitoring.schemas import Filters
from skypanel.servers.clients import ClientPool

BILLING_WINDOW = timedelta(days=30)
PAYING = ("active", "past_due")
SUCCEEDED = ("billed", "refunded")
FAILED = ("failed", "void")


async def overview(session: AsyncSession, clients: ClientPool) -> dict[str, Any]:
    """Counts and money over the whole platform, and whether Easypanel answers (one call)."""
    return {**await figures(session), "easypanel": await _reachability(clients)}


async def figures(session: AsyncSession) -> dict[str, Any]:
    """The overview's counts, from `platform_counts` (kept by triggers): the cost does not grow
    with the platform. Billing success covers the charges made since the start of the hour 30
    days ago."""
    since = _billing_since()
    subscriptions: dict[str, int] = {}
    services: list[dict[str, Any]] = []
    cycles: dict[str, int] = {}
    projects = mrr = 0
    for metric, label, status, n, price in await repository.counts(session, billing_since=since):
        if metric == "subscriptions":
            subscriptions[status] = subscriptions.get(status, 0) + n
            mrr += n * (price or 0) if status in PAYING else 0
        elif metric == "services":
            services.append({"type": label, "status": status, "count": n})
        elif metric == "projects":
            projects += n
        elif metric == "billing_cycles":
            cycles[status] = n
    billed = sum(cycles.get(status, 0) for status in SUCCEEDED)
    attempts = billed + sum(cycles.get(status, 0) for status in FAILED)
    in_flight, failed_ops = await repository.operations(session)
    return {
        "subscriptions": subscriptions,
        "projects": projects,
        "services": sorted(services, key=lambda row: (row["type"], row["status"])),
        "monthlyRecurringRevenueCents": int(mrr),
        "billingSuccessRate": round(billed / attempts * 100, 1) if attempts else None,
        "operations": {"inFlight": in_flight, "failed": failed_ops},
    }


async def _reachability(clients: ClientPool) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        client = await clients.client_for(None)
        result = await client.test_connection()
    except Exception as exc:
        return {"reachable": False, "error": type(exc).__name__, "latencyMs": None}
    return {
        "reachable": result.ok,
        "latencyMs": round((time.perf_counter() - started) * 1000),
        "error": result.error_code,
        "version": result.version,
    }


async def subscriptions(
    session: AsyncSession, filters: Filters, *, cursor: str | None, limit: int
) -> Page:
    return await repository.subscriptions_page(session, filters, cursor=cursor, limit=limit)


async def services(
    session: AsyncSession, filters: Filters, *, cursor: str | None, limit: int
) -> Page:
    return await repository.services_page(session, filters, cursor=cursor, limit=limit)


def _billing_since() -> datetime:
    return (clock.now() - BILLING_WINDOW).replace(minute=0, second=0, microsecond=0)


async def fold_counts(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Fold the overview's pending count changes (the worker runs this every minute); billing
    hours a day older than any read needs are forgotten."""
    async with transaction(sessions) as session:
        forget_before = _billing_since() - timedelta(days=1)
        return await repository.fold_counts(session, forget_before=forget_before)
