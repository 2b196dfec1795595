from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import (
    ContainerPlan,
    ContainerService,
    ContainerSubscription,
    Wallet,
)


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Active subscriptions whose period has ended, locked; rows other workers hold are skipped.

    `after` (the last row of the previous batch) starts the scan there instead of at the
    beginning, where earlier batches leave dead index entries behind. Plain rows (not ORM
    objects): a billing run handles thousands of them.
    """
    query = (
        select(
            ContainerSubscription.id,
            ContainerSubscription.organization_id,
            ContainerSubscription.anchor_at,
            ContainerSubscription.periods_billed,
            ContainerSubscription.current_period_end,
            ContainerPlan.id.label("plan_id"),
            ContainerPlan.name.label("plan_name"),
            ContainerPlan.price_monthly_cents,
        )
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
        .where(
            ContainerSubscription.status == "active",
            ContainerSubscription.current_period_end <= now,
        )
        .order_by(ContainerSubscription.current_period_end, ContainerSubscription.id)
        .limit(limit)
        .with_for_update(of=ContainerSubscription, skip_locked=True)
    )
    if after is not None:
        query = query.where(
            tuple_(ContainerSubscription.current_period_end, ContainerSubscription.id) > after
        )
    return (await session.execute(query)).all()


async def claim_overdue(
    session: AsyncSession, limit: int, after: uuid.UUID | None
) -> Sequence[ContainerSubscription]:
    """Past-due subscriptions (a failed renewal in its grace period), locked, in id order."""
    query = select(ContainerSubscription).where(ContainerSubscription.status == "past_due")
    if after is not None:
        query = query.where(ContainerSubscription.id > after)
    return (
        await session.scalars(
            query.order_by(ContainerSubscription.id).limit(limit).with_for_update(skip_locked=True)
        )
    ).all()


async def claim_payable_suspended(
    session: AsyncSession, now: datetime, limit: int, after: uuid.UUID | None
) -> Sequence[ContainerSubscription]:
    """Suspended subscriptions whose wallet now holds a month of their plan (a credit whose
    follow-up was lost), locked, in id order; rows other workers hold are skipped. Those
    suspended at `now` (by this very run) wait for the next run. The wallet is read, not
    locked: resuming locks it (after the subscription) and checks again."""
    query = (
        select(ContainerSubscription)
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
        .join(Wallet, Wallet.organization_id == ContainerSubscription.organization_id)
        .where(
            ContainerSubscription.status == "suspended",
            or_(
                ContainerSubscription.suspended_at.is_(None),
                ContainerSubscription.suspended_at < now,
            ),
            Wallet.balance_cents >= ContainerPlan.price_monthly_cents,
        )
    )
    if after is not None:
        query = query.where(ContainerSubscription.id > after)
    return (
        await session.scalars(
            query.order_by(ContainerSubscription.id)
            .limit(limit)
            .with_for_update(of=ContainerSubscription, skip_locked=True)
        )
    ).all()


async def running_services(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[ContainerService]:
    return (
        await session.scalars(
            select(ContainerService).where(
                ContainerService.organization_id == organization_id,
                ContainerService.desired_state == "running",
                ContainerService.status != "deleting",
            )
        )
    ).all()


async def services_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> Sequence[ContainerService]:
    return (
        await session.scalars(select(ContainerService).where(ContainerService.id.in_(ids)))
    ).all()


async def balances(session: AsyncSession, organization_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Wallet.organization_id, Wallet.balance_cents).where(
            Wallet.organization_id.in_(organization_ids)
        )
    )
    return {organization_id: cents for organization_id, cents in rows}


async def renewing(
    session: AsyncSession, start: datetime, end: datetime, limit: int, after: uuid.UUID | None
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Active subscriptions of paid plans renewing in `(start, end]`, with their wallet's
    balance, in id order (read, not locked: reminders change nothing)."""
    query = (
        select(
            ContainerSubscription.id,
            ContainerSubscription.organization_id,
            ContainerSubscription.anchor_at,
            ContainerSubscription.periods_billed,
            ContainerSubscription.current_period_end,
            ContainerPlan.name.label("plan_name"),
            ContainerPlan.price_monthly_cents,
            Wallet.balance_cents,
        )
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
        .join(Wallet, Wallet.organization_id == ContainerSubscription.organization_id)
        .where(
            ContainerSubscription.status == "active",
            ContainerSubscription.current_period_end > start,
            ContainerSubscription.current_period_end <= end,
            ContainerPlan.price_monthly_cents > 0,
        )
    )
    if after is not None:
        query = query.where(ContainerSubscription.id > after)
    return (await session.execute(query.order_by(ContainerSubscription.id).limit(limit))).all()


async def grace_ending(
    session: AsyncSession, start: datetime, end: datetime, limit: int, after: uuid.UUID | None
) -> Sequence[ContainerSubscription]:
    """Past-due subscriptions whose grace ends in `(start, end]`, in id order."""
    query = select(ContainerSubscription).where(
        ContainerSubscription.status == "past_due",
        ContainerSubscription.grace_until > start,
        ContainerSubscription.grace_until <= end,
    )
    if after is not None:
        query = query.where(ContainerSubscription.id > after)
    return (await session.scalars(query.order_by(ContainerSubscription.id).limit(limit))).all()


async def suspended_between(
    session: AsyncSession,
    start: datetime | None,
    end: datetime,
    limit: int,
    after: uuid.UUID | None,
    *,
    lock: bool = False,
) -> Sequence[ContainerSubscription]:
    """Subscriptions suspended in `(start, end]` (or at `end` or before), in id order; with
    `lock`, locked, and those other workers hold skipped."""
    query = select(ContainerSubscription).where(
        ContainerSubscription.status == "suspended", ContainerSubscription.suspended_at <= end
    )
    if start is not None:
        query = query.where(ContainerSubscription.suspended_at > start)
    if after is not None:
        query = query.where(ContainerSubscription.id > after)
    query = query.order_by(ContainerSubscription.id).limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()
