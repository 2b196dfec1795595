"""Subscribe and change plans: one transaction each, wallet locked, provisioning after commit.

The money of each cycle (build, charge, refund) is `subscriptions.cycles`, shared with the bulk
renewal run.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.errors import AppError, Conflict
from skypanel.kit.money import format_money, round_half_up
from skypanel.kit.periods import add_months, unused_fraction
from skypanel.models import (
    BillingCycle,
    ContainerPlan,
    ContainerProject,
    ContainerSubscription,
    OrganizationMove,
)
from skypanel.models import EasypanelOperation as Operation
from skypanel.notices import service as notices
from skypanel.notices.service import emit
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.plans.service import get_plan
from skypanel.platform.service import get_setting
from skypanel.quotas.service import exceeded_by_plan
from skypanel.servers.placement import place
from skypanel.subscriptions import cycles, repository
from skypanel.subscriptions.cycles import charge_cycle
from skypanel.subscriptions.naming import (
    candidates,
    easypanel_project_name,
    free_candidate,
    sanitise,
)
from skypanel.subscriptions.provisioning import password_place
from skypanel.subscriptions.repository import failed_cycles
from skypanel.wallet import repository as wallets
from skypanel.wallet.service import InsufficientBalance


class SubscriptionExists(Conflict):
    code = "SUBSCRIPTION_EXISTS"


class NoSubscription(AppError):
    code = "NO_SUBSCRIPTION"
    status = 404


class PlanUnavailable(Conflict):
    code = "PLAN_INACTIVE"


class SamePlan(Conflict):
    code = "SAME_PLAN"


class DowngradeTooSmall(Conflict):
    code = "PLAN_TOO_SMALL"


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: ContainerSubscription
    cycle: BillingCycle
    operations: list[Operation]


async def subscribe(
    session: AsyncSession,
    settings: Settings,
    org: OrgContext,
    plan_id: uuid.UUID,
    region: str | None = None,
) -> Subscribed:
    """Charge the first month and create the subscription on the server placement picks (in
    `region` when given); provisioning is queued, not run."""
    org.require("owner", "admin")
    now = clock.now()
    account = await wallets.lock(session, org.id)
    if await repository.live(session, org.id) is not None:
        raise SubscriptionExists("The organization already has a subscription")
    plan = await get_plan(session, plan_id)
    if not plan.active:
        raise PlanUnavailable("This plan is not open to new subscribers", planId=str(plan_id))
    server = await place(session, plan, region)
    first_month = await cycles.charged_cents(session, org.id, plan.price_monthly_cents)
    if account is None or account.balance_cents < first_month:
        raise InsufficientBalance(
            "The wallet balance is too low for the first month",
            required=format_money(first_month),
            available=format_money(account.balance_cents if account else 0),
            currency="USD",
        )
    end = add_months(now, 1)
    subscription = ContainerSubscription(
        id=uuid.uuid4(),
        organization_id=org.id,
        plan_id=plan.id,
        server_id=server.id,
        status="active",
        anchor_at=now,
        current_period_start=now,
        current_period_end=end,
        periods_billed=1,
        provisioning_status="pending",
    )
    session.add(subscription)
    await session.flush()
    cycle = await charge_cycle(
        session, subscription, plan, now, end, kind="initial", actor=org.user.id
    )
    await record(
        session,
        "container.subscription.create",
        f"Subscribed to {plan.name}",
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_subscription",
        entity_id=subscription.id,
        metadata={"planId": str(plan.id), "price": format_money(plan.price_monthly_cents)},
    )
    await notices.record(
        session,
        [
            notices.Fact(
                "subscription.created",
                f"subscription.created:{subscription.id}",
                {
                    "subscriptionId": str(subscription.id),
                    "plan": plan.name,
                    "price": format_money(plan.price_monthly_cents),
                    "periodEnd": end.isoformat(),
                },
                org.id,
            )
        ],
    )
    operations = await _queue_provisioning(session, settings, org, subscription)
    return Subscribed(subscription, cycle, operations)


async def _queue_provisioning(
    session: AsyncSession, settings: Settings, org: OrgContext, subscription: ContainerSubscription
) -> list[Operation]:
    assert subscription.server_id is not None
    operations: list[Operation] = []
    if await get_setting(session, "customer_easypanel_logins"):
        subscription.easypanel_user_email = (
            f"{org.organization.slug}@{settings.easypanel_login_domain}"
        )
        subscription.easypanel_password_encrypted = encrypt_secret(
            secrets.token_urlsafe(18), password_place(subscription.id)
        )
        operations.append(
            await enqueue(
                session,
                "easypanel.user.create",
                subscription.easypanel_user_email,
                server_id=subscription.server_id,
                organization_id=org.id,
                subject=("subscription", subscription.id),
                max_attempts=40,
            )
        )
    namespace = sanitise(org.organization.slug)
    taken = {p.project_name for p in await repository.projects(session, org.id)}
    name = next(n for n in candidates(namespace, 999) if n not in taken)
    base = easypanel_project_name(namespace, name)
    project = ContainerProject(
        id=uuid.uuid4(),
        organization_id=org.id,
        subscription_id=subscription.id,
        server_id=subscription.server_id,
        project_name=name,
        easypanel_project_name=await free_candidate(session, subscription.server_id, base),
        status="creating",
    )
    session.add(project)
    await session.flush()
    operations.append(
        await enqueue(
            session,
            "easypanel.project.create",
            project.easypanel_project_name,
            server_id=subscription.server_id,
            organization_id=org.id,
            payload={
                "base": project.easypanel_project_name,
                "subscriptionId": str(subscription.id),
            },
            subject=("project", project.id),
            max_attempts=40,
        )
    )
    return operations


async def change_plan(
    session: AsyncSession, org: OrgContext, plan_id: uuid.UUID
) -> tuple[ContainerSubscription, int, int]:
    """Move to another plan now: credit the unused old plan, charge the new one for the rest of
    the period (whose end stays). Returns (subscription, credited cents, charged cents) as the
    wallet moved them (tax included, as the credit note and the invoices say), the charge
    including what settling an overdue renewal took.

    A past-due subscription (its renewal failed, the grace period running) first settles that
    renewal for the part of the period already used, on the old plan: the change costs exactly
    what it would have after an on-time renewal, and the unpaid renewal can never be paid in
    full later on top of the new plan. Refused, changing nothing, when the wallet cannot pay
    it all. With nothing of the period left (it ended and the renewal has not run yet) the plan
    changes and the renewal charges the new one.
    """
    org.require("owner", "admin")
    now = clock.now()
    subscription = await repository.live(session, org.id, lock=True)
    if subscription is None:
        raise NoSubscription("The organization has no subscription")
    if subscription.status == "suspended":
        raise SubscriptionSuspended("The subscription is suspended; top up the wallet first")
    new = await get_plan(session, plan_id)
    if new.id == subscription.plan_id:
        raise SamePlan("The subscription is already on this plan")
    if not new.active:
        raise PlanUnavailable("This plan is not open to new subscribers", planId=str(plan_id))
    exceeded = await exceeded_by_plan(session, org.id, new)
    if exceeded:
        raise DowngradeTooSmall(
            "The organization uses more than this plan allows", exceeded=exceeded
        )
    current = await repository.cycle_at(session, subscription.id, now)
    overdue = await failed_cycles(session, subscription.id)
    account = await wallets.lock(session, org.id)
    credit = (
        await cycles.refund_due(session, current, now, reason="plan change")
        if current is not None
        else 0
    )
    owed = 0
    for cycle in overdue:
        owed += await cycles.charged_cents(session, org.id, cycles.used_cents(cycle, now))
    price = round_half_up(
        new.price_monthly_cents
        * unused_fraction(subscription.current_period_start, subscription.current_period_end, now)
    )
    charge = await cycles.charged_cents(session, org.id, price)
    available = (account.balance_cents if account else 0) + credit
    if account is None or available < owed + charge:
        raise InsufficientBalance(
            "The wallet balance is too low for the new plan",
            required=format_money(owed + charge),
            available=format_money(available),
            currency="USD",
        )
    if current is not None:
        credit = await cycles.end_service(
            session, current, now, reason="plan change", actor=org.user.id
        )
    for cycle in overdue:
        plan = await session.get(ContainerPlan, cycle.plan_id)
        assert plan is not None
        await cycles.settle_used(session, cycle, plan, now, actor=org.user.id)
    if subscription.status == "past_due":
        subscription.status = "active"
        subscription.grace_until = None
        await record(
            session,
            "container.subscription.recover",
            "Overdue renewal paid for the part used; the subscription is in good standing",
            organization_id=org.id,
            user_id=org.user.id,
            entity_type="container_subscription",
            entity_id=subscription.id,
        )
    old_plan_id = subscription.plan_id
    subscription.plan_id = new.id
    if now < subscription.current_period_end:
        await charge_cycle(
            session,
            subscription,
            new,
            now,
            subscription.current_period_end,
            kind="proration",
            amount_cents=price,
            actor=org.user.id,
        )
    await record(
        session,
        "container.subscription.change",
        f"Plan changed to {new.name}",
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_subscription",
        entity_id=subscription.id,
        metadata={
            "fromPlanId": str(old_plan_id),
            "toPlanId": str(new.id),
            "credited": format_money(credit),
            "charged": format_money(owed + charge),
            "settled": format_money(owed),
        },
    )
    previous = await session.get(ContainerPlan, old_plan_id)
    assert previous is not None
    await emit(
        session,
        "subscription.plan_changed",
        dedupe_key=f"plan_changed:{subscription.id}:{now:%Y%m%dT%H%M%S.%f}",
        organization_id=org.id,
        data={"plan": new.name, "previous": previous.name},
    )
    return subscription, credit, owed + charge


class SubscriptionSuspended(AppError):
    code = "SUBSCRIPTION_SUSPENDED"
    status = 402


class SubscriptionRequired(AppError):
    code = "SUBSCRIPTION_REQUIRED"
    status = 402


class MoveInProgress(Conflict):
    code = "MOVE_IN_PROGRESS"


async def moving_since(session: AsyncSession, organization_id: uuid.UUID) -> datetime | None:
    """When the organization's unfinished move to another server began, if one is underway.
    Read it with the subscription locked: a move locks that row to start."""
    started: datetime | None = await session.scalar(
        select(OrganizationMove.created_at).where(
            OrganizationMove.organization_id == organization_id,
            OrganizationMove.state.in_(("pending", "running")),
        )
    )
    return started


async def require_active(
    session: AsyncSession, organization_id: uuid.UUID
) -> ContainerSubscription:
    """The organization's subscription, locked (quota checks serialise on it), if it may deploy.

    No subscription: 402 SUBSCRIPTION_REQUIRED; suspended: 402 SUBSCRIPTION_SUSPENDED.
    A past-due subscription (in its grace period) still may. While an admin moves the
    organization to another server: 409 MOVE_IN_PROGRESS (a move locks the same row to start, so
    a change is either in its plan or refused).
    """
    subscription = await repository.live(session, organization_id, lock=True)
    if subscription is None:
        raise SubscriptionRequired("Subscribe to a plan before deploying containers")
    if subscription.status == "suspended":
        raise SubscriptionSuspended(
            "The subscription is suspended for non-payment; top up the wallet to resume"
        )
    moving = await moving_since(session, organization_id)
    if moving is not None:
        raise MoveInProgress(
            "Your services are being moved to another server; changes can be made again once"
            " the move is done",
            movingSince=moving.isoformat(),
        )
    return subscription
