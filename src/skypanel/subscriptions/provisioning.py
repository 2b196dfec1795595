"""Operations that set an organization up on Easypanel, and take it down again.

The Easypanel user (when customer logins are on) and the initial project are created after the
subscription commits; each project record exists before its Easypanel project, so nothing on
Easypanel is ever left without a record.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import EasypanelNotFound, EasypanelResourceExists
from skypanel.kit import clock
from skypanel.kit.crypto import SecretPlace, decrypt_secret
from skypanel.models import ContainerProject, ContainerSubscription, EasypanelOperation
from skypanel.operations import repository as operations
from skypanel.operations.service import OperationContext, enqueue, handler
from skypanel.projects.env import project_env
from skypanel.services import workload
from skypanel.subscriptions.naming import candidates


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


async def _provisioning_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_type == "subscription" and operation.subject_id is not None:
        await refresh_provisioning(session, operation.subject_id)


@handler("easypanel.user.create", on_success=_user_created, on_failure=_provisioning_failed)
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


async def _project_created(session: AsyncSession, operation: EasypanelOperation) -> None:
    assert operation.subject_id is not None
    assert operation.result is not None
    project = await session.get(ContainerProject, operation.subject_id, with_for_update=True)
    if project is not None and project.status == "deleting":
        project.easypanel_project_name = operation.result["name"]
        await enqueue(
            session,
            "easypanel.project.destroy",
            project.easypanel_project_name,
            server_id=project.server_id,
            organization_id=project.organization_id,
            subject=("project", project.id),
            max_attempts=40,
        )
    elif project is not None:
        project.easypanel_project_name = operation.result["name"]
        project.status = "active"
        project.last_error = None
        project.updated_at = clock.now()
        if operation.payload.get("subscriptionId"):
            await session.flush()
            await refresh_provisioning(session, uuid.UUID(operation.payload["subscriptionId"]))


async def _project_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    assert operation.subject_id is not None
    project = await session.get(ContainerProject, operation.subject_id, with_for_update=True)
    if project is not None:
        project.status = "failed"
        project.last_error = operation.last_error
        await session.flush()
    if operation.payload.get("subscriptionId"):
        await refresh_provisioning(session, uuid.UUID(operation.payload["subscriptionId"]))


@handler("easypanel.project.create", on_success=_project_created, on_failure=_project_failed)
async def create_project(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Create the project, moving to `-2`, `-3`, ... when another owner holds the name."""
    names = candidates(operation.payload["base"])
    tried = operation.payload.get("candidate")
    for name in names[names.index(tried) if tried in names else 0 :]:
        await ctx.checkpoint(operation, candidate=name)
        try:
            await ctx.client.create_project(name)
        except EasypanelResourceExists:
            if name == tried and operation.attempts > 1:
                break
            tried = None
            continue
        break
    else:
        raise EasypanelResourceExists(
            "Every candidate name is taken on the server", procedure="projects.createProject"
        )
    user_id = await _easypanel_user(ctx, operation.organization_id)
    if user_id is not None:
        await ctx.client.update_access(name, user_id, active=True)
    async with ctx.sessions() as session:
        project = await session.get(ContainerProject, operation.subject_id)
    if project is not None and project.env_encrypted is not None:
        await ctx.client.update_project_env(name, project_env(project))
    return {"name": name}


async def _easypanel_user(ctx: OperationContext, organization_id: uuid.UUID | None) -> str | None:
    async with ctx.sessions() as session:
        return await session.scalar(
            select(ContainerSubscription.easypanel_user_id)
            .where(
                ContainerSubscription.organization_id == organization_id,
                ContainerSubscription.easypanel_user_id.is_not(None),
            )
            .order_by(ContainerSubscription.created_at.desc())
            .limit(1)
        )


async def _project_destroyed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_id is not None:
        await session.execute(
            delete(ContainerProject).where(ContainerProject.id == operation.subject_id)
        )


@handler("easypanel.project.destroy", on_success=_project_destroyed)
async def destroy_project(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Destroy each service, then the project; what is already gone counts as destroyed."""
    try:
        detail = await ctx.client.inspect_project(operation.target)
    except EasypanelNotFound:
        return {"servicesDeleted": 0, "projectDeleted": False}
    removed = 0
    for service in detail.services:
        removed += await workload.destroy(ctx.client, service.type, operation.target, service.name)
    try:
        await ctx.client.destroy_project(operation.target)
    except EasypanelNotFound:
        return {"servicesDeleted": removed, "projectDeleted": False}
    return {"servicesDeleted": removed, "projectDeleted": True}


async def _user_destroyed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_id is not None:
        subscription = await session.get(
            ContainerSubscription, operation.subject_id, with_for_update=True
        )
        if subscription is not None:
            subscription.easypanel_user_id = None


@handler("easypanel.user.destroy", on_success=_user_destroyed)
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
