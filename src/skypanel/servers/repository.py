from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import (
    ContainerPlan,
    ContainerSubscription,
    EasypanelAuditLog,
    EasypanelServer,
)
from skypanel.servers.schemas import CallStats


@dataclass(frozen=True, slots=True)
class Reserved:
    """The full quotas of the live subscriptions placed on one server."""

    subscriptions: int = 0
    cpus: Decimal = Decimal(0)
    memory_gb: Decimal = Decimal(0)
    storage_gb: Decimal = Decimal(0)


async def default_server(session: AsyncSession, *, lock: bool = False) -> EasypanelServer | None:
    query = select(EasypanelServer).where(EasypanelServer.is_default)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def get(
    session: AsyncSession, server_id: uuid.UUID, *, lock: bool = False
) -> EasypanelServer | None:
    query = select(EasypanelServer).where(EasypanelServer.id == server_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def in_service(
    session: AsyncSession, *, states: Sequence[str] | None = None
) -> Sequence[EasypanelServer]:
    """The servers not retired (or only those in `states`), default first, then by name."""
    query = select(EasypanelServer).where(EasypanelServer.state != "retired")
    if states is not None:
        query = query.where(EasypanelServer.state.in_(states))
    query = query.order_by(EasypanelServer.is_default.desc(), EasypanelServer.name)
    return (await session.scalars(query)).all()


async def name_taken(
    session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None
) -> bool:
    query = select(EasypanelServer.id).where(EasypanelServer.name == name)
    if other_than is not None:
        query = query.where(EasypanelServer.id != other_than)
    return await session.scalar(query) is not None


async def reservations(session: AsyncSession) -> dict[uuid.UUID, Reserved]:
    """Per server, the sum of the plan quotas of its subscriptions that are not cancelled."""
    rows = await session.execute(
        select(
            ContainerSubscription.server_id,
            func.count(),
            func.sum(ContainerPlan.max_cpu_cores),
            func.sum(ContainerPlan.max_memory_gb),
            func.sum(ContainerPlan.max_storage_gb),
        )
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
        .where(
            ContainerSubscription.status != "cancelled",
            ContainerSubscription.server_id.is_not(None),
        )
        .group_by(ContainerSubscription.server_id)
    )
    return {
        server_id: Reserved(count, Decimal(cpus), Decimal(memory), Decimal(storage))
        for server_id, count, cpus, memory, storage in rows
        if server_id is not None
    }


async def call_stats(session: AsyncSession, since: datetime) -> dict[uuid.UUID, CallStats]:
    """Per server, the calls audited since `since`: how many, how many failed, latency p50/p95."""
    elapsed = EasypanelAuditLog.elapsed_ms
    rows = await session.execute(
        select(
            EasypanelAuditLog.server_id,
            func.count(),
            func.count().filter(EasypanelAuditLog.error_message.is_not(None)),
            func.percentile_cont(0.5).within_group(elapsed),
            func.percentile_cont(0.95).within_group(elapsed),
        )
        .where(EasypanelAuditLog.created_at >= since, EasypanelAuditLog.server_id.is_not(None))
        .group_by(EasypanelAuditLog.server_id)
    )
    return {
        server_id: CallStats(
            calls=calls,
            errors=errors,
            p50_ms=None if p50 is None else round(p50),
            p95_ms=None if p95 is None else round(p95),
        )
        for server_id, calls, errors, p50, p95 in rows
        if server_id is not None
    }
