"""Cancellation: refuse while anything is deployed unless confirmed; then refund the unused part
of the period (the paid cycle's service ends now), void an unpaid renewal, and delete everything
on Easypanel through retried operations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock
from skypanel.kit.errors import AppError, Conflict
from skypanel.kit.money import format_money
from skypanel.models import (
    ContainerPlan,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
)
from skypanel.notices.service import emit
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.subscriptions import cycles, repository
from skypanel.subscriptions.provisioning import PROVISIONING_KINDS
from skypanel.subscriptions.repository import failed_cycles
from skypanel.subscriptions.service import NoSubscription
from skypanel.wallet import repository as wallets


class HasResources(Conflict):
    code = "SUBSCRIPTION_HAS_RESOURCES"


@dataclass(frozen=True, slots=True)
class Cancelled:
    refund_cents: int
    projects: int
    services: int
    operations: list[uuid.UUID]


class ConfirmationMismatch(AppError):
    code = "CONFIRMATION_MISMATCH"
    status = 422


async def cancel(session: AsyncSession, org: OrgContext, confirm: str | None) -> Cancelled:
    org.require("owner", "admin")
    now = clock.now()
    subscription = await repository.live(session, org.id, lock=True)
    if subscription is None:
        raise NoSubscription("The organization has no subscription")
    await repository.lock_resources(session, org.id)
    projects = await repository.projects(session, org.id)
    services = await repository.services(session, org.id)
    if confirm is not None and confirm != org.organization.slug:
        raise ConfirmationMismatch(
            f"The confirmation does not match: type the organization's slug,"
            f" ?confirm={org.organization.slug}",
            fields=[{"field": "confirm", "message": f"must be {org.organization.slug}"}],
            confirm=org.organization.slug,
        )
    if (projects or services) and confirm != org.organization.slug:
        raise HasResources(
            "Projects or services are still deployed; confirm with"
            f" ?confirm={org.organization.slug} to delete them all",
            projects=[p.project_name for p in projects],
            services=[f"{s.service_name}" for s in services],
            confirm=org.organization.slug,
        )
    await wallets.lock(session, org.id)
    refund = 0
    current = await repository.cycle_at(session, subscription.id, now)
    if current is not None and subscription.status != "suspended":
        refund = await cycles.end_service(
            session, current, now, reason="cancellation", actor=org.user.id
        )
    operations = await _end(session, subscription, projects)
    await record(
        session,
        "container.subscription.cancel",
        f"Subscription cancelled; {format_money(refund)} refunded",
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_subscription",
        entity_id=subscription.id,
        metadata={
            "refund": format_money(refund),
            "projects": len(projects),
            "services": len(services),
        },
    )
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    await emit(
        session,
        "subscription.cancelled",
        dedupe_key=f"cancelled:{subscription.id}",
        organization_id=org.id,
        data={"plan": plan.name, "refund": f"${format_money(refund)}" if refund else ""},
    )
    return Cancelled(refund, len(projects), len(services), operations)


async def terminate(
    session: AsyncSession, subscription: ContainerSubscription, days: int
) -> Cancelled:
    """End a subscription left suspended (unpaid) for `days`: cancelled as by its owner,
    everything deleted, nothing refunded (its unpaid renewal is voided). The caller holds the
    subscription's lock and has checked that it is still suspended."""
    await repository.lock_resources(session, subscription.organization_id)
    projects = await repository.projects(session, subscription.organization_id)
    services = await repository.services(session, subscription.organization_id)
    operations = await _end(session, subscription, projects)
    await record(
        session,
        "container.subscription.terminate",
        f"Terminated after {days} days suspended for non-payment; everything deleted",
        organization_id=subscription.organization_id,
        entity_type="container_subscription",
        entity_id=subscription.id,
        status="warning",
        metadata={"days": days, "projects": len(projects), "services": len(services)},
    )
    return Cancelled(0, len(projects), len(services), operations)


async def _end(
    session: AsyncSession,
    subscription: ContainerSubscription,
    projects: Sequence[ContainerProject],
) -> list[uuid.UUID]:
    """Void the unpaid renewals, cancel, and queue the deletion of everything."""
    for cycle in await failed_cycles(session, subscription.id):
        cycle.status = "void"
    subscription.status = "cancelled"
    subscription.cancelled_at = clock.now()
    await _stop_provisioning(session, subscription.id)
    return [op.id for op in await _queue_deletion(session, subscription, projects)]


async def _stop_provisioning(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Pending provisioning would recreate what is being deleted: cancel it."""
    await session.execute(
        update(EasypanelOperation)
        .where(
            EasypanelOperation.kind.in_(PROVISIONING_KINDS),
            EasypanelOperation.status == "pending",
            or_(
                EasypanelOperation.subject_id == subscription_id,
                EasypanelOperation.payload["subscriptionId"].astext == str(subscription_id),
            ),
        )
        .values(status="cancelled", finished_at=clock.now())
    )


async def _queue_deletion(
    session: AsyncSession,
    subscription: ContainerSubscription,
    projects: Sequence[ContainerProject],
) -> list[EasypanelOperation]:
    """Everything goes: each project (its services first), then the organization's login."""
    now = clock.now()
    await session.execute(
        update(ContainerService)
        .where(ContainerService.organization_id == subscription.organization_id)
        .values(status="deleting", updated_at=now)
    )
    operations = []
    for project in projects:
        project.status = "deleting"
        project.updated_at = now
        operations.append(
            await enqueue(
                session,
                "easypanel.project.destroy",
                project.easypanel_project_name,
                server_id=project.server_id,
                organization_id=subscription.organization_id,
                subject=("project", project.id),
                max_attempts=40,
            )
        )
    if subscription.easypanel_user_email:
        operations.append(
            await enqueue(
                session,
                "easypanel.user.destroy",
                subscription.easypanel_user_email,
                server_id=subscription.server_id,
                organization_id=subscription.organization_id,
                subject=("subscription", subscription.id),
                max_attempts=40,
            )
        )
    return operations
