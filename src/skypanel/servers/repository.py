from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import ContainerPlan, ContainerSubscription, EasypanelServer


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
