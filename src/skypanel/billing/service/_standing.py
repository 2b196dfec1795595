"""What waits for money: a past-due subscription settled or suspended, a suspended one resumed.

Neither suspension nor resumption touches an organization while it is being moved to another
server (the move stops and starts its apps itself): both wait for the next billing run after the
move, which locks the subscription to start, as these do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.billing import messages, repository
from skypanel.billing.service._report import RunReport
from skypanel.kit.periods import add_months
from skypanel.models import (
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
from skypanel.subscriptions.service import moving_since
from skypanel.wallet.service import InsufficientBalance


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
    elif (
        subscription.grace_until is not None
        and subscription.grace_until <= now
        and await moving_since(session, subscription.organization_id) is None
    ):
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

    Returns the start operations, or None when the wallet still cannot pay or the organization
    is being moved to another server (nothing changes; the next billing run tries again).
    """
    if await moving_since(session, subscription.organization_id) is not None:
        return None
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
