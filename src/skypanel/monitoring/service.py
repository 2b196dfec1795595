from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import clock
from skypanel.models import (
    BillingCycle,
    ContainerPlan,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
    Organization,
)
from skypanel.servers.clients import ClientPool


async def overview(session: AsyncSession, clients: ClientPool) -> dict[str, Any]:
    """Counts and money over the whole platform, and whether Easypanel answers (one call)."""
    rows = await session.execute(
        select(ContainerSubscription.status, func.count()).group_by(ContainerSubscription.status)
    )
    by_status = {status: count for status, count in rows}
    services = [
        {"type": kind, "status": status, "count": n}
        for kind, status, n in await session.execute(
            select(ContainerService.service_type, ContainerService.status, func.count()).group_by(
                ContainerService.service_type, ContainerService.status
            )
        )
    ]
    mrr = await session.scalar(
        select(func.coalesce(func.sum(ContainerPlan.price_monthly_cents), 0))
        .join(ContainerSubscription, ContainerSubscription.plan_id == ContainerPlan.id)
        .where(ContainerSubscription.status.in_(("active", "past_due")))
    )
    since = clock.now() - timedelta(days=30)
    billed, failed = (
        await session.execute(
            select(
                func.count().filter(BillingCycle.status.in_(("billed", "refunded"))),
                func.count().filter(BillingCycle.status.in_(("failed", "void"))),
            ).where(BillingCycle.created_at >= since)
        )
    ).one()
    attempts = billed + failed
    pending = await session.scalar(
        select(func.count()).where(EasypanelOperation.status.in_(("pending", "running")))
    )
    failed_ops = await session.scalar(
        select(func.count()).where(EasypanelOperation.status == "failed")
    )
    return {
        "subscriptions": by_status,
        "projects": await session.scalar(select(func.count()).select_from(ContainerProject)),
        "services": services,
        "monthlyRecurringRevenueCents": int(mrr or 0),
        "billingSuccessRate": round(billed / attempts * 100, 1) if attempts else None,
        "operations": {"inFlight": pending, "failed": failed_ops},
        "easypanel": await _reachability(clients),
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
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> Sequence[Any]:
    query = (
        select(ContainerSubscription, Organization.name, ContainerPlan.name)
        .join(Organization, Organization.id == ContainerSubscription.organization_id)
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
        .order_by(ContainerSubscription.created_at.desc(), ContainerSubscription.id)
        .limit(limit)
        .offset(offset)
    )
    if status:
        query = query.where(ContainerSubscription.status == status)
    return (await session.execute(query)).all()


async def services(
    session: AsyncSession,
    *,
    status: str | None,
    service_type: str | None,
    organization: str | None,
    limit: int,
    offset: int,
) -> Sequence[Any]:
    query = (
        select(ContainerService, ContainerProject.project_name, Organization.name)
        .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
        .join(Organization, Organization.id == ContainerService.organization_id)
        .order_by(ContainerService.created_at.desc(), ContainerService.id)
        .limit(limit)
        .offset(offset)
    )
    if status:
        query = query.where(ContainerService.status == status)
    if service_type:
        query = query.where(ContainerService.service_type == service_type)
    if organization:
        query = query.where(
            or_(Organization.slug == organization, Organization.name.ilike(f"%{organization}%"))
        )
    return (await session.execute(query)).all()
