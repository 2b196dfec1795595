from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.pagination import newest_first
from skypanel.kit.tenancy import scoped
from skypanel.models import BillingCycle, ContainerProject, ContainerService, ContainerSubscription
from skypanel.models.subscriptions import LIVE


async def live(
    session: AsyncSession, organization_id: uuid.UUID, *, lock: bool = False
) -> ContainerSubscription | None:
    """The organization's subscription that is not cancelled (there is at most one)."""
    query = scoped(select(ContainerSubscription), ContainerSubscription, organization_id).where(
        ContainerSubscription.status.in_(LIVE)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def get(
    session: AsyncSession, subscription_id: uuid.UUID, *, lock: bool = False
) -> ContainerSubscription | None:
    query = select(ContainerSubscription).where(ContainerSubscription.id == subscription_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def cycle_at(
    session: AsyncSession, subscription_id: uuid.UUID, at: datetime
) -> BillingCycle | None:
    """The paid cycle whose service covers `at` (the one a refund or proration applies to):
    there is at most one, as paid services of a subscription never overlap."""
    return await session.scalar(
        select(BillingCycle)
        .where(
            BillingCycle.subscription_id == subscription_id,
            BillingCycle.status.in_(("billed", "refunded")),
            BillingCycle.billing_period_start <= at,
            func.coalesce(BillingCycle.effective_end, BillingCycle.billing_period_end) > at,
        )
        .order_by(BillingCycle.billing_period_start.desc())
        .limit(1)
        .with_for_update()
    )


async def cycles_page(
    session: AsyncSession, organization_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Sequence[BillingCycle]:
    query = newest_first(
        scoped(select(BillingCycle), BillingCycle, organization_id),
        BillingCycle.created_at,
        BillingCycle.id,
        cursor=cursor,
        limit=limit,
    )
    return (await session.scalars(query)).all()


async def projects(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[ContainerProject]:
    query = scoped(select(ContainerProject), ContainerProject, organization_id)
    return (await session.scalars(query.order_by(ContainerProject.created_at))).all()


async def services(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[ContainerService]:
    query = scoped(select(ContainerService), ContainerService, organization_id)
    return (await session.scalars(query.order_by(ContainerService.created_at))).all()


async def lock_resources(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Lock the organization's projects, then its services, each in id order: the order
    reconciliation's write-back takes them in, so the two never wait on each other in a cycle."""
    for model in (ContainerProject, ContainerService):
        query = scoped(select(model.id), model, organization_id)
        await session.execute(query.order_by(model.id).with_for_update())


async def monthly_spend(
    session: AsyncSession, organization_id: uuid.UUID, months: int = 12
) -> list[tuple[str, int]]:
    """Net charged per calendar month (charges less refunds), oldest first, in cents."""
    month = func.date_trunc("month", BillingCycle.billing_period_start)
    rows = await session.execute(
        scoped(
            select(
                month,
                func.sum(BillingCycle.amount_cents - BillingCycle.refunded_cents),
            ),
            BillingCycle,
            organization_id,
        )
        .where(BillingCycle.status.in_(("billed", "refunded")))
        .group_by(month)
        .order_by(month.desc())
        .limit(months)
    )
    return [(at.strftime("%Y-%m"), int(cents)) for at, cents in reversed(rows.all())]


async def failed_cycles(
    session: AsyncSession, subscription_id: uuid.UUID
) -> Sequence[BillingCycle]:
    return (
        await session.scalars(
            select(BillingCycle)
            .where(BillingCycle.subscription_id == subscription_id, BillingCycle.status == "failed")
            .order_by(BillingCycle.billing_period_start)
            .with_for_update()
        )
    ).all()
