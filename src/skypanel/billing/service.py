"""Renewals, dunning, suspension and resumption.

Every rule is enforced by the database as well as the code: a renewal is unique per subscription
and period start (never created or charged twice), no two paid cycles of a subscription overlap
(a period is paid once), ledger entries are unique per cycle, and rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several workers, a crash or a rerun are harmless.
Lock order everywhere: the subscription, then the wallet.

A run renews what is due, then sweeps what waits for money: past-due subscriptions (settled if
the wallet can pay, suspended once the grace has run out) and suspended ones whose wallet can pay
a fresh month (resumed), so a credit whose follow-up (`after_credit`) was lost is acted on at the
next run. The grace period counts from when the failure is recorded, however late the run.
Each step (renewed, renewal failed, suspended, resumed) tells the organization's managers in its
own transaction (`billing.messages`); what is said ahead of time is `billing.dunning`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Row, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.billing import messages, repository
from skypanel.invoices import service as invoices
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.periods import add_months
from skypanel.models import (
    ActivityLog,
    BillingCycle,
    ContainerPlan,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
)
from skypanel.notices import service as notices
from skypanel.platform.service import get_setting
from skypanel.services.service import queue_operation
from skypanel.subscriptions import cycles
from skypanel.subscriptions import repository as subscriptions
from skypanel.wallet import service as wallet
from skypanel.wallet.service import InsufficientBalance

log = structlog.get_logger(__name__)


@dataclass
class RunReport:
    charged: int = 0
    failed: int = 0
    recovered: int = 0
    suspended: int = 0
    resumed: int = 0
    operations: list[uuid.UUID] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.charged += other.charged
        self.failed += other.failed
        self.recovered += other.recovered
        self.suspended += other.suspended
        self.resumed += other.resumed
        self.operations += other.operations


async def run(
    sessions: async_sessionmaker[AsyncSession],
    *,
    batch: int = 500,
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


async def renew_batch(
    session: AsyncSession, due: Sequence[Row[*tuple[Any, ...]]], now: datetime, grace_days: int
) -> RunReport:
    """Charge the next period of each claimed subscription at its plan's current price (tax
    added as its invoice says), all wallets debited at once and all invoices issued at once,
    numbered in claim order; a short wallet fails that renewal (no invoice) and starts its grace
    period, which runs from now (a late run still grants all of it)."""
    report = RunReport()
    renewals = [
        cycles.new_cycle(
            subscription_id=row.id,
            organization_id=row.organization_id,
            plan_id=row.plan_id,
            monthly_rate_cents=row.price_monthly_cents,
            kind="renewal",
            start=row.current_period_end,
            end=add_months(row.anchor_at, row.periods_billed + 1),
            now=now,
        )
        for row in due
    ]
    payable = [(row, c) for row, c in zip(due, renewals, strict=True) if c["amount_cents"] > 0]
    quotes = await invoices.quote_many(
        session,
        [
            (
                c["organization_id"],
                [
                    cycles.charge_line(
                        row.plan_name,
                        c["billing_period_start"],
                        c["billing_period_end"],
                        c["amount_cents"],
                    )
                ],
            )
            for row, c in payable
        ],
    )
    entries = await wallet.debit_many(
        session,
        [
            cycles.debit(
                cycle_id=c["id"],
                organization_id=c["organization_id"],
                amount_cents=quote.total_cents,
                plan_name=row.plan_name,
                start=c["billing_period_start"],
                end=c["billing_period_end"],
            )
            for (row, c), quote in zip(payable, quotes, strict=True)
        ],
    )
    charged = {c["id"]: quote.total_cents for (_, c), quote in zip(payable, quotes, strict=True)}
    paid = {c["id"]: entry for (_, c), entry in zip(payable, entries, strict=True)}
    grace_until = now + timedelta(days=grace_days)
    events, subscriptions = [], []
    for cycle, row in zip(renewals, due, strict=True):
        cycle["attempts"] = 1
        failed = cycle["id"] in paid and paid[cycle["id"]] is None
        if failed:
            cycle.update(status="failed", failure_reason="The wallet balance is too low")
            events.append(
                cycles.failed_event(
                    cycle_id=cycle["id"],
                    subscription_id=row.id,
                    organization_id=row.organization_id,
                    amount_cents=cycle["amount_cents"],
                    grace_until=grace_until,
                )
            )
            report.failed += 1
        else:
            cycle.update(status="billed", payment_transaction_id=paid.get(cycle["id"]))
            events.append(
                cycles.charge_event(
                    cycle_id=cycle["id"],
                    organization_id=row.organization_id,
                    amount_cents=charged.get(cycle["id"], 0),
                    kind="renewal",
                    plan_name=row.plan_name,
                )
            )
            report.charged += 1
        subscriptions.append(
            {
                "id": row.id,
                "status": "past_due" if failed else "active",
                "grace_until": grace_until if failed else None,
                "current_period_start": cycle["billing_period_start"],
                "current_period_end": cycle["billing_period_end"],
                "periods_billed": row.periods_billed + 1,
                "updated_at": now,
            }
        )
    await session.execute(insert(BillingCycle), renewals)
    await session.execute(insert(ActivityLog), events)
    await session.execute(update(ContainerSubscription), subscriptions)
    await _tell_renewals(session, due, renewals, charged, grace_until)
    # Last, so the invoice counter stays locked for as short a time as possible until commit.
    await invoices.issue_many(
        session,
        "invoice",
        [
            (quote, (cycles.LEDGER_ENTRY, entry))
            for quote, entry in zip(quotes, entries, strict=True)
            if entry is not None
        ],
    )
    return report


async def _tell_renewals(
    session: AsyncSession,
    due: Sequence[Row[*tuple[Any, ...]]],
    renewals: list[dict[str, Any]],
    charged: dict[uuid.UUID, int],
    grace_until: datetime,
) -> None:
    """A message for each renewal that cost something: charged, or failed with the grace end
    (all of the batch's in a few statements)."""
    failed = {c["organization_id"] for c in renewals if c["status"] == "failed"}
    balances = await repository.balances(session, failed) if failed else {}
    told = []
    for cycle, row in zip(renewals, due, strict=True):
        amount = charged.get(cycle["id"], 0)
        if not amount:
            continue
        if cycle["status"] == "failed":
            told.append(
                messages.renewal_failed(
                    row.organization_id,
                    cycle["id"],
                    plan=row.plan_name,
                    amount_cents=amount,
                    balance_cents=balances.get(row.organization_id, 0),
                    grace_until=grace_until,
                )
            )
        else:
            told.append(
                messages.renewed(
                    row.organization_id,
                    cycle["id"],
                    plan=row.plan_name,
                    amount_cents=amount,
                    start=cycle["billing_period_start"],
                    end=cycle["billing_period_end"],
                )
            )
    await notices.tell(session, told)


async def settle(
    session: AsyncSession, subscription: ContainerSubscription, now: datetime
) -> RunReport:
    """Retry a past-due subscription's failed cycles; suspend it when the grace has run out."""
    report = RunReport()
    if await _pay_failed_cycles(session, subscription):
        subscription.status = "active"
        subscription.grace_until = None
        report.recovered = 1
        await record(
            session,
            "container.subscription.recover",
            "Overdue renewal paid; the subscription is in good standing",
            organization_id=subscription.organization_id,
            entity_type="container_subscription",
            entity_id=subscription.id,
        )
    elif subscription.grace_until is not None and subscription.grace_until <= now:
        report.operations = await suspend(session, subscription, now)
        report.suspended = 1
    return report


async def _pay_failed_cycles(session: AsyncSession, subscription: ContainerSubscription) -> bool:
    for cycle in await subscriptions.failed_cycles(session, subscription.id):
        plan = await session.get(ContainerPlan, cycle.plan_id)
        assert plan is not None
        if not await cycles.try_pay(session, cycle, plan):
            return False
        renewed = messages.renewed(
            subscription.organization_id,
            cycle.id,
            plan=plan.name,
            amount_cents=await cycles.charged_cents(
                session, subscription.organization_id, cycle.amount_cents
            ),
            start=cycle.billing_period_start,
            end=cycle.billing_period_end,
        )
        await notices.tell(session, [renewed])
    return True


async def suspend(
    session: AsyncSession, subscription: ContainerSubscription, now: datetime
) -> list[uuid.UUID]:
    """Stop the workload for real, remembering what was running so a top-up can restart it."""
    running = await repository.running_services(session, subscription.organization_id)
    subscription.status = "suspended"
    subscription.suspended_at = now
    subscription.suspended_services = [str(service.id) for service in running]
    operations = await _workload(session, subscription, running, "easypanel.service.stop")
    await record(
        session,
        "container.subscription.suspend",
        f"Suspended for non-payment; {len(running)} service(s) stopped",
        organization_id=subscription.organization_id,
        entity_type="container_subscription",
        entity_id=subscription.id,
        status="warning",
    )
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    after = int(await get_setting(session, "termination_after_days"))
    await messages.suspended(
        session,
        subscription.organization_id,
        subscription.id,
        plan=plan.name,
        amount_cents=await cycles.charged_cents(
            session, subscription.organization_id, plan.price_monthly_cents
        ),
        suspended_at=now,
        terminates_at=now + timedelta(days=after),
    )
    return [operation.id for operation in operations]


async def resume(
    session: AsyncSession, subscription: ContainerSubscription, now: datetime
) -> list[uuid.UUID] | None:
    """After a top-up: void the unpaid cycles, charge a fresh period from now, restart services.

    Returns the start operations, or None when the wallet still cannot pay (nothing changes).
    """
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    end = add_months(now, 1)
    try:
        async with session.begin_nested():
            fresh = await cycles.charge_cycle(session, subscription, plan, now, end, kind="renewal")
    except InsufficientBalance:
        return None
    for unpaid in await subscriptions.failed_cycles(session, subscription.id):
        unpaid.status = "void"
    ids = [uuid.UUID(value) for value in subscription.suspended_services]
    services = await repository.services_by_id(session, ids)
    subscription.status = "active"
    subscription.grace_until = None
    subscription.suspended_at = None
    subscription.suspended_services = []
    subscription.anchor_at = now
    subscription.current_period_start = now
    subscription.current_period_end = end
    subscription.periods_billed = 1
    operations = await _workload(session, subscription, services, "easypanel.service.start")
    await record(
        session,
        "container.subscription.resume",
        f"Resumed after payment; {len(services)} service(s) started",
        organization_id=subscription.organization_id,
        entity_type="container_subscription",
        entity_id=subscription.id,
    )
    await messages.resumed(session, subscription.organization_id, fresh.id, plan=plan.name)
    return [operation.id for operation in operations]


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


async def _workload(
    session: AsyncSession,
    subscription: ContainerSubscription,
    services: Sequence[ContainerService],
    kind: str,
) -> list[EasypanelOperation]:
    operations = []
    for service in services:
        project = await session.get(ContainerProject, service.project_id)
        assert project is not None
        operations.append(
            await queue_operation(
                session, subscription.organization_id, project, service, kind, repeatable=False
            )
        )
    return operations
