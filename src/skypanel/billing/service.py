"""Renewals, dunning, suspension and resumption.

Every rule is enforced by the database as well as the code: a cycle is unique per subscription
and period start (never created or charged twice), ledger entries are unique per cycle, and rows
are claimed with `FOR UPDATE SKIP LOCKED`, so several workers, a crash or a rerun are harmless.
Lock order everywhere: the subscription, then the wallet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import activity_entry, record
from skypanel.billing import repository
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.money import format_money
from skypanel.kit.periods import add_months
from skypanel.models import (
    BillingCycle,
    ContainerPlan,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
    PaymentTransaction,
)
from skypanel.operations.service import enqueue
from skypanel.platform.service import get_setting
from skypanel.subscriptions import repository as subscriptions
from skypanel.subscriptions.service import (
    charge_cycle,
    cycle_description,
    cycle_reference,
    pay_cycle,
)
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
    """One billing run at `clock.now()`: renew what is due, then settle what is overdue."""
    report = RunReport()
    now = clock.now()
    while True:
        async with transaction(sessions) as session:
            due = await repository.claim_due(session, now, batch)
            if not due:
                break
            grace = int(await get_setting(session, "billing_grace_days"))
            report.add(await renew_batch(session, due, now, grace))
        if progress is not None:
            progress(len(due))
    after: uuid.UUID | None = None
    while True:
        async with transaction(sessions) as session:
            overdue = await repository.claim_overdue(session, batch, after)
            for subscription in overdue:
                report.add(await settle(session, subscription, now))
        if not overdue:
            break
        after = overdue[-1].id
    return report


async def renew_batch(
    session: AsyncSession,
    due: Sequence[tuple[ContainerSubscription, ContainerPlan]],
    now: datetime,
    grace_days: int,
) -> RunReport:
    """Charge the next period of each subscription at its plan's current price, all wallets
    debited in one go; a short wallet fails that renewal and starts its grace period."""
    report = RunReport()
    cycles = []
    for subscription, plan in due:
        start = subscription.current_period_end
        end = add_months(subscription.anchor_at, subscription.periods_billed + 1)
        cycles.append(
            BillingCycle(
                id=uuid.uuid4(),
                subscription_id=subscription.id,
                organization_id=subscription.organization_id,
                plan_id=plan.id,
                kind="renewal",
                billing_period_start=start,
                billing_period_end=end,
                monthly_rate_cents=plan.price_monthly_cents,
                amount_cents=plan.price_monthly_cents,
                status="billed",
                attempts=1,
            )
        )
    payable = [
        (cycle, plan) for cycle, (_, plan) in zip(cycles, due, strict=True) if cycle.amount_cents
    ]
    entries = await wallet.debit_many(
        session,
        [
            wallet.Debit(
                organization_id=cycle.organization_id,
                amount_cents=cycle.amount_cents,
                description=cycle_description(plan.name, cycle),
                idempotency_key=f"cycle:{cycle.id}",
                reference=cycle_reference(cycle),
            )
            for cycle, plan in payable
        ],
    )
    paid = {cycle.id: entry for (cycle, _), entry in zip(payable, entries, strict=True)}
    for cycle, (subscription, plan) in zip(cycles, due, strict=True):
        entry = paid.get(cycle.id, True)
        if entry is None:
            cycle.status = "failed"
            cycle.failure_reason = "The wallet balance is too low"
            _start_grace(session, subscription, cycle, grace_days)
            report.failed += 1
        else:
            if isinstance(entry, PaymentTransaction):
                cycle.payment_transaction_id = entry.id
            _charged(session, cycle, plan)
            report.charged += 1
        subscription.current_period_start = cycle.billing_period_start
        subscription.current_period_end = cycle.billing_period_end
        subscription.periods_billed += 1
        subscription.updated_at = now
    session.add_all(cycles)
    return report


def _charged(session: AsyncSession, cycle: BillingCycle, plan: ContainerPlan) -> None:
    session.add(
        activity_entry(
            "container.billing.charge",
            f"Charged {format_money(cycle.amount_cents)} for {plan.name}",
            organization_id=cycle.organization_id,
            entity_type="container_billing_cycle",
            entity_id=cycle.id,
            metadata={"amount": format_money(cycle.amount_cents), "kind": cycle.kind},
        )
    )


def _start_grace(
    session: AsyncSession, subscription: ContainerSubscription, cycle: BillingCycle, grace_days: int
) -> None:
    subscription.status = "past_due"
    subscription.grace_until = cycle.billing_period_start + timedelta(days=grace_days)
    session.add(
        activity_entry(
            "container.billing.failed",
            f"Renewal of {format_money(cycle.amount_cents)} failed: the wallet is short;"
            f" services keep running until {subscription.grace_until:%Y-%m-%d %H:%M} UTC",
            organization_id=subscription.organization_id,
            entity_type="container_subscription",
            entity_id=subscription.id,
            status="warning",
            metadata={"cycleId": str(cycle.id), "amount": format_money(cycle.amount_cents)},
        )
    )


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


async def _try_pay(session: AsyncSession, cycle: BillingCycle, plan: ContainerPlan) -> bool:
    """Pay the cycle if the wallet can; otherwise mark it `failed` (and write nothing else)."""
    try:
        async with session.begin_nested():
            await pay_cycle(session, cycle, plan, actor=None)
    except InsufficientBalance as exc:
        await session.refresh(cycle)
        cycle.attempts += 1
        cycle.status = "failed"
        cycle.failure_reason = exc.message
        return False
    return True


async def _pay_failed_cycles(session: AsyncSession, subscription: ContainerSubscription) -> bool:
    for cycle in await repository.failed_cycles(session, subscription.id):
        plan = await session.get(ContainerPlan, cycle.plan_id)
        assert plan is not None
        if not await _try_pay(session, cycle, plan):
            return False
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
            await charge_cycle(session, subscription, plan, now, end, kind="renewal")
    except InsufficientBalance:
        return None
    for unpaid in await repository.failed_cycles(session, subscription.id):
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
        project = await session.scalar(
            select(ContainerProject).where(ContainerProject.id == service.project_id)
        )
        assert project is not None
        operations.append(
            await enqueue(
                session,
                kind,
                f"{project.easypanel_project_name}/{service.easypanel_service_name}",
                server_id=project.server_id,
                organization_id=subscription.organization_id,
                payload={
                    "type": service.service_type,
                    "project": project.easypanel_project_name,
                    "service": service.easypanel_service_name,
                },
                subject=("service", service.id),
            )
        )
    return operations
