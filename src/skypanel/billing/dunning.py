"""Dunning: what is said ahead of time, and the end of a subscription left unpaid.

`run` is the hourly sweep beside the billing run. It sends the renewal reminder (and the
low-balance forecast) `renewal_reminder_days` before a renewal, the "suspension tomorrow"
warning 24 hours before a grace period ends, the termination warning `termination_warning_days`
before a termination, and terminates what stayed suspended for `termination_after_days`:
cancelled through the cancellation machinery (everything deleted on Easypanel by operations,
nothing refunded), one transaction per subscription, with a final message.

Every message is keyed by the fact it reports (`billing.messages`), so a late, repeated or
concurrent run tells nobody twice; a run that missed an hour catches up at the next one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import messages, repository
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.periods import add_months
from skypanel.models import ContainerPlan, ContainerSubscription
from skypanel.platform.service import get_setting
from skypanel.subscriptions import cycles
from skypanel.subscriptions.cancellation import terminate
from skypanel.subscriptions.repository import failed_cycles

SUSPENSION_NOTICE = timedelta(hours=24)


@dataclass
class DunningReport:
    terminated: int = 0
    operations: list[uuid.UUID] = field(default_factory=list)


async def run(sessions: async_sessionmaker[AsyncSession], *, batch: int = 500) -> DunningReport:
    """One sweep at `clock.now()`; the deletions it queued are in the report."""
    now = clock.now()
    async with transaction(sessions) as session:
        ahead = timedelta(days=int(await get_setting(session, "renewal_reminder_days")))
        after = timedelta(days=int(await get_setting(session, "termination_after_days")))
        warning = timedelta(days=int(await get_setting(session, "termination_warning_days")))
    await _remind(sessions, now, ahead, batch)
    await _warn_of_suspension(sessions, now, batch)
    await _warn_of_termination(sessions, now, after, warning, batch)
    return await _terminate(sessions, now, after)


async def _remind(
    sessions: async_sessionmaker[AsyncSession], now: datetime, ahead: timedelta, batch: int
) -> None:
    """The reminder of each renewal due within `ahead`, saying whether the balance covers it,
    and the forecast when it covers this renewal but not the one after."""
    last: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            rows = await repository.renewing(session, now, now + ahead, batch, last)
            for row in rows:
                amount = await cycles.charged_cents(
                    session, row.organization_id, row.price_monthly_cents
                )
                await messages.renewal_reminder(
                    session,
                    row.organization_id,
                    row.id,
                    plan=row.plan_name,
                    amount_cents=amount,
                    balance_cents=row.balance_cents,
                    renews_at=row.current_period_end,
                )
                if row.balance_cents // amount == 1:
                    await messages.low_balance(
                        session,
                        row.organization_id,
                        row.id,
                        amount_cents=amount,
                        balance_cents=row.balance_cents,
                        until=add_months(row.anchor_at, row.periods_billed + 1),
                    )
        if not rows:
            return
        last = rows[-1].id


async def _warn_of_suspension(
    sessions: async_sessionmaker[AsyncSession], now: datetime, batch: int
) -> None:
    last: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            ending = await repository.grace_ending(
                session, now, now + SUSPENSION_NOTICE, batch, last
            )
            for subscription in ending:
                assert subscription.grace_until is not None
                owed = sum(c.amount_cents for c in await failed_cycles(session, subscription.id))
                await messages.suspension_tomorrow(
                    session,
                    subscription.organization_id,
                    subscription.id,
                    plan=(await _plan(session, subscription)).name,
                    amount_cents=await cycles.charged_cents(
                        session, subscription.organization_id, owed
                    ),
                    grace_until=subscription.grace_until,
                )
        if not ending:
            return
        last = ending[-1].id


async def _warn_of_termination(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    after: timedelta,
    warning: timedelta,
    batch: int,
) -> None:
    """Those suspended long enough that their termination is `warning` away or less."""
    last: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            found = await repository.suspended_between(
                session, now - after, now - after + warning, batch, last
            )
            for subscription in found:
                assert subscription.suspended_at is not None
                plan = await _plan(session, subscription)
                await messages.termination_warning(
                    session,
                    subscription.organization_id,
                    subscription.id,
                    plan=plan.name,
                    amount_cents=await cycles.charged_cents(
                        session, subscription.organization_id, plan.price_monthly_cents
                    ),
                    suspended_at=subscription.suspended_at,
                    terminates_at=subscription.suspended_at + after,
                )
        if not found:
            return
        last = found[-1].id


async def _terminate(
    sessions: async_sessionmaker[AsyncSession], now: datetime, after: timedelta
) -> DunningReport:
    """Each subscription suspended for `after` or longer, in a transaction of its own (locked,
    so a top-up resuming it at the same moment goes first or waits)."""
    report = DunningReport()
    last: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            due = await repository.suspended_between(session, None, now - after, 1, last, lock=True)
            if due:
                subscription = due[0]
                ended = await terminate(session, subscription, after.days)
                await messages.terminated(
                    session,
                    subscription.organization_id,
                    subscription.id,
                    plan=(await _plan(session, subscription)).name,
                    days=after.days,
                )
                report.terminated += 1
                report.operations += ended.operations
        if not due:
            return report
        last = due[0].id


async def _plan(session: AsyncSession, subscription: ContainerSubscription) -> ContainerPlan:
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    return plan
