"""Subscribe and change plans: one transaction each, wallet locked, provisioning after commit."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.errors import AppError, Conflict
from skypanel.kit.money import format_money, round_half_up
from skypanel.kit.periods import add_months, unused_fraction
from skypanel.models import BillingCycle, ContainerPlan, ContainerProject, ContainerSubscription
from skypanel.models import EasypanelOperation as Operation
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.plans.service import get_plan
from skypanel.platform.service import get_setting
from skypanel.quotas.service import exceeded_by_plan
from skypanel.servers import repository as servers
from skypanel.servers.service import NotConfigured
from skypanel.subscriptions import repository
from skypanel.subscriptions.naming import (
    candidates,
    easypanel_project_name,
    free_candidate,
    sanitise,
)
from skypanel.subscriptions.provisioning import password_place
from skypanel.wallet import repository as wallets
from skypanel.wallet import service as wallet
from skypanel.wallet.service import InsufficientBalance, Reference


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


def cycle_reference(cycle: BillingCycle) -> Reference:
    return Reference("billing_cycle", cycle.id)


def cycle_description(plan_name: str, cycle: BillingCycle) -> str:
    return (
        f"{plan_name} plan, {cycle.billing_period_start:%Y-%m-%d}"
        f" to {cycle.billing_period_end:%Y-%m-%d}"
    )


async def subscribe(
    session: AsyncSession, settings: Settings, org: OrgContext, plan_id: uuid.UUID
) -> Subscribed:
    """Charge the first month and create the subscription; provisioning is queued, not run."""
    org.require("owner", "admin")
    now = clock.now()
    account = await wallets.lock(session, org.id)
    if await repository.live(session, org.id) is not None:
        raise SubscriptionExists("The organization already has a subscription")
    plan = await get_plan(session, plan_id)
    if not plan.active:
        raise PlanUnavailable("This plan is not open to new subscribers", planId=str(plan_id))
    server = await servers.default_server(session)
    if server is None or not server.active:
        raise NotConfigured("Container hosting is not configured yet; contact the provider")
    if account is None or account.balance_cents < plan.price_monthly_cents:
        raise InsufficientBalance(
            "The wallet balance is too low for the first month",
            required=format_money(plan.price_monthly_cents),
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
    operations = await _queue_provisioning(session, settings, org, subscription)
    return Subscribed(subscription, cycle, operations)


async def charge_cycle(
    session: AsyncSession,
    subscription: ContainerSubscription,
    plan: ContainerPlan,
    start: datetime,
    end: datetime,
    *,
    kind: str,
    amount_cents: int | None = None,
    actor: uuid.UUID | None = None,
) -> BillingCycle:
    """A cycle, paid from the wallet at once (raises `InsufficientBalance`)."""
    cycle = await open_cycle(session, subscription, plan, start, end, kind, amount_cents)
    await pay_cycle(session, cycle, plan, actor=actor)
    return cycle


async def open_cycle(
    session: AsyncSession,
    subscription: ContainerSubscription,
    plan: ContainerPlan,
    start: datetime,
    end: datetime,
    kind: str,
    amount_cents: int | None = None,
) -> BillingCycle:
    """An unpaid (`pending`) cycle for one period; unique per subscription and period start."""
    cycle = BillingCycle(
        id=uuid.uuid4(),
        subscription_id=subscription.id,
        organization_id=subscription.organization_id,
        plan_id=plan.id,
        kind=kind,
        billing_period_start=start,
        billing_period_end=end,
        monthly_rate_cents=plan.price_monthly_cents,
        amount_cents=plan.price_monthly_cents if amount_cents is None else amount_cents,
        status="pending",
    )
    session.add(cycle)
    await session.flush()
    return cycle


async def pay_cycle(
    session: AsyncSession, cycle: BillingCycle, plan: ContainerPlan, *, actor: uuid.UUID | None
) -> None:
    """Debit the cycle's amount (its ledger key is the cycle, so it is paid at most once)."""
    cycle.attempts += 1
    if cycle.amount_cents > 0:
        entry = await wallet.post(
            session,
            cycle.organization_id,
            kind="debit",
            amount_cents=cycle.amount_cents,
            description=cycle_description(plan.name, cycle),
            idempotency_key=f"cycle:{cycle.id}",
            reference=cycle_reference(cycle),
            actor_id=actor,
        )
        cycle.payment_transaction_id = entry.id
    cycle.status = "billed"
    cycle.failure_reason = None
    await record(
        session,
        "container.billing.charge",
        f"Charged {format_money(cycle.amount_cents)} for {plan.name}",
        organization_id=cycle.organization_id,
        user_id=actor,
        entity_type="container_billing_cycle",
        entity_id=cycle.id,
        metadata={"amount": format_money(cycle.amount_cents), "kind": cycle.kind},
    )


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
    the period (whose end stays). Returns (subscription, credited cents, charged cents)."""
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
    credit = 0
    if current is not None:
        credit = min(
            round_half_up(
                current.amount_cents
                * unused_fraction(current.billing_period_start, current.billing_period_end, now)
            ),
            current.amount_cents - current.refunded_cents,
        )
        current.billing_period_end = now
    charge = round_half_up(
        new.price_monthly_cents
        * unused_fraction(subscription.current_period_start, subscription.current_period_end, now)
    )
    if credit > 0:
        assert current is not None
        await refund_cycle(session, current, credit, reason="plan change", actor=org.user.id)
    account = await wallets.lock(session, org.id)
    if account is None or account.balance_cents < charge:
        raise InsufficientBalance(
            "The wallet balance is too low for the new plan",
            required=format_money(charge),
            available=format_money(account.balance_cents if account else 0),
            currency="USD",
        )
    old_plan_id = subscription.plan_id
    subscription.plan_id = new.id
    await charge_cycle(
        session,
        subscription,
        new,
        now,
        subscription.current_period_end,
        kind="proration",
        amount_cents=charge,
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
            "charged": format_money(charge),
        },
    )
    return subscription, credit, charge


async def refund_cycle(
    session: AsyncSession, cycle: BillingCycle, cents: int, *, reason: str, actor: uuid.UUID | None
) -> None:
    """Give back part of a paid cycle; never more than was paid for it."""
    cents = min(cents, cycle.amount_cents - cycle.refunded_cents)
    if cents <= 0:
        return
    await wallet.post(
        session,
        cycle.organization_id,
        kind="refund",
        amount_cents=cents,
        description=f"Refund ({reason}) for {cycle.billing_period_start:%Y-%m-%d}",
        idempotency_key=f"refund:{cycle.id}:{cycle.refunded_cents}",
        reference=cycle_reference(cycle),
        actor_id=actor,
    )
    cycle.refunded_cents += cents
    cycle.status = "refunded"
    await record(
        session,
        "container.billing.refund",
        f"Refunded {format_money(cents)} ({reason})",
        organization_id=cycle.organization_id,
        user_id=actor,
        entity_type="container_billing_cycle",
        entity_id=cycle.id,
        metadata={"amount": format_money(cents), "reason": reason},
    )


class SubscriptionSuspended(AppError):
    code = "SUBSCRIPTION_SUSPENDED"
    status = 402


class SubscriptionRequired(AppError):
    code = "SUBSCRIPTION_REQUIRED"
    status = 402


async def require_active(
    session: AsyncSession, organization_id: uuid.UUID
) -> ContainerSubscription:
    """The organization's subscription, locked (quota checks serialise on it), if it may deploy.

    No subscription: 402 SUBSCRIPTION_REQUIRED; suspended: 402 SUBSCRIPTION_SUSPENDED.
    A past-due subscription (in its grace period) still may.
    """
    subscription = await repository.live(session, organization_id, lock=True)
    if subscription is None:
        raise SubscriptionRequired("Subscribe to a plan before deploying containers")
    if subscription.status == "suspended":
        raise SubscriptionSuspended(
            "The subscription is suspended for non-payment; top up the wallet to resume"
        )
    return subscription
