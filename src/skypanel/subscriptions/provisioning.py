"""Operations that set an organization up on Easypanel, and take it down again: its own
Easypanel login (when customer logins are on), created after the subscription commits, and the
provisioning state that the project operations (`skypanel.projects.operations`) report to.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import EasypanelNotFound, EasypanelResourceExists
from skypanel.kit.crypto import SecretPlace, decrypt_secret
from skypanel.models import ContainerProject, ContainerSubscription, EasypanelOperation
from skypanel.operations import repository as operations
from skypanel.operations.service import Handler, OperationContext
from skypanel.subscriptions import repository as subscriptions


def password_place(subscription_id: uuid.UUID) -> SecretPlace:
    return SecretPlace(
        "container_subscriptions", "easypanel_password_encrypted", str(subscription_id)
    )


async def _subscription(ctx: OperationContext, subscription_id: uuid.UUID) -> ContainerSubscription:
    async with ctx.sessions() as session:
        found = await session.get(ContainerSubscription, subscription_id)
    if found is None:
        raise LookupError(f"subscription {subscription_id} is gone")
    return found


async def _active_projects(ctx: OperationContext, organization_id: uuid.UUID) -> list[str]:
    async with ctx.sessions() as session:
        names = await session.scalars(
            select(ContainerProject.easypanel_project_name).where(
                ContainerProject.organization_id == organization_id,
                ContainerProject.status == "active",
            )
        )
        return list(names)


async def refresh_provisioning(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """`ready` once every provisioning operation of the subscription has succeeded."""
    subscription = await session.get(ContainerSubscription, subscription_id, with_for_update=True)
    if subscription is None:
        return
    ops = await operations.for_subject(session, "subscription", subscription_id)
    provisioning = [op for op in ops if op.kind in PROVISIONING_KINDS]
    statuses = {op.status for op in provisioning}
    projects = await session.scalars(
        select(ContainerProject.status).where(ContainerProject.subscription_id == subscription_id)
    )
    project_statuses = set(projects)
    if "failed" in statuses or "failed" in project_statuses:
        subscription.provisioning_status = "failed"
        subscription.provisioning_error = next(
            (op.last_error for op in provisioning if op.status == "failed"), None
        )
    elif statuses <= {"succeeded"} and project_statuses <= {"active"}:
        subscription.provisioning_status = "ready"
        subscription.provisioning_error = None


async def _user_created(session: AsyncSession, operation: EasypanelOperation) -> None:
    assert operation.subject_id is not None
    assert operation.result is not None
    subscription = await session.get(
        ContainerSubscription, operation.subject_id, with_for_update=True
    )
    if subscription is not None:
        subscription.easypanel_user_id = operation.result["userId"]
    await refresh_provisioning(session, operation.subject_id)


async def _lock_provisioned(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The subscription the operation provisions, which `refresh_provisioning` locks: a
    cancellation holds it while it cancels the pending provisioning."""
    if operation.subject_type == "subscription" and operation.subject_id is not None:
        await subscriptions.get(session, operation.subject_id, lock=True)


async def _provisioning_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_type == "subscription" and operation.subject_id is not None:
        await refresh_provisioning(session, operation.subject_id)


async def create_user(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """The organization's own Easypanel login, with access to its projects."""
    assert operation.subject_id is not None
    assert operation.organization_id is not None
    subscription = await _subscription(ctx, operation.subject_id)
    assert subscription.easypanel_password_encrypted is not None
    password = decrypt_secret(
        subscription.easypanel_password_encrypted, password_place(subscription.id)
    )
    try:
        user = await ctx.client.create_user(operation.target, password)
    except EasypanelResourceExists:
        existing = [u for u in await ctx.client.list_users() if u.email == operation.target]
        if not existing:
            raise
        user = existing[0]
    for project in await _active_projects(ctx, operation.organization_id):
        await ctx.client.update_access(project, user.id, active=True)
    return {"userId": user.id}


async def _user_destroyed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_id is not None:
        subscription = await session.get(
            ContainerSubscription, operation.subject_id, with_for_update=True
        )
        if subscription is not None:
            subscription.easypanel_user_id = None


async def destroy_user(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Remove the organization's login (the target is its email); gone already counts as done."""
    for user in await ctx.client.list_users():
        if user.email == operation.target:
            try:
                await ctx.client.destroy_user(user.id)
            except EasypanelNotFound:
                break
            return {"deleted": True}
    return {"deleted": False}


PROVISIONING_KINDS = frozenset({"easypanel.user.create", "easypanel.project.create"})


HANDLERS: dict[str, Handler] = {
    "easypanel.user.create": Handler(
        create_user,
        on_success=_user_created,
        on_failure=_provisioning_failed,
        locks=_lock_provisioned,
    ),
    "easypanel.user.destroy": Handler(destroy_user, on_success=_user_destroyed),
}
