"""A billing run, and the follow-up of a wallet credit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import repository
from skypanel.billing.service._renewals import renew_batch
from skypanel.billing.service._report import RunReport
from skypanel.billing.service._standing import resume, settle
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.platform.service import get_setting
from skypanel.subscriptions import repository as subscriptions

BATCH = 1000
"""Subscriptions claimed per transaction: each batch pays a dozen statements whatever its size
(settings, rates, lookups, the counter, the commit), and holds the invoice counter only for
its last inserts."""


async def run(
    sessions: async_sessionmaker[AsyncSession],
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> RunReport:
    """One billing run at `clock.now()`: renew what is due, settle what is overdue, resume what
    was suspended and can pay again."""
    report = RunReport()
    now = clock.now()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with transaction(sessions) as session:
            due = await repository.claim_due(session, now, batch, after)
            if not due:
                if after is None:
                    break
                after = None
                continue
            grace = int(await get_setting(session, "billing_grace_days"))
            report.add(await renew_batch(session, due, now, grace))
        after = (due[-1].current_period_end, due[-1].id)
        if progress is not None:
            progress(len(due))
    last: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            overdue = await repository.claim_overdue(session, batch, last)
            for subscription in overdue:
                report.add(await settle(session, subscription, now))
        if not overdue:
            break
        last = overdue[-1].id
    last = None
    while True:
        async with transaction(sessions) as session:
            payable = await repository.claim_payable_suspended(session, now, batch, last)
            for subscription in payable:
                started = await resume(session, subscription, now)
                if started is not None:
                    report.resumed += 1
                    report.operations += started
        if not payable:
            break
        last = payable[-1].id
    return report


async def after_credit(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
) -> RunReport:
    """Called after a wallet credit commits: settle overdue cycles now, resume if suspended."""
    report = RunReport()
    now = clock.now()
    async with transaction(sessions) as session:
        subscription = await subscriptions.live(session, organization_id, lock=True)
        if subscription is None:
            return report
        if subscription.status == "past_due":
            report = await settle(session, subscription, now)
        elif subscription.status == "suspended":
            started = await resume(session, subscription, now)
            if started is not None:
                report.resumed = 1
                report.operations = started
    return report
