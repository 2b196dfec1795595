"""Operations on projects: create (moving to the next free name when another owner holds one),
send variables, destroy with everything in it. Each project record exists before its Easypanel
project, so nothing on Easypanel is ever left without a record."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import EasypanelNotFound, EasypanelResourceExists, workload
from skypanel.kit import clock
from skypanel.models import (
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
)
from skypanel.operations.service import Handler, OperationContext, enqueue
from skypanel.projects.env import project_env
from skypanel.subscriptions import repository as subscriptions
from skypanel.subscriptions.naming import candidates, swarm_name
from skypanel.subscriptions.provisioning import refresh_provisioning


async def _lock_subscription(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The subscription of the operation's project, which comes before the project in the lock
    order: a deploy holds it for its quota check while it adds a service to the project, and a
    cancellation holds it while it cancels the pending creation."""
    assert operation.subject_id is not None
    owner = await session.scalar(
        select(ContainerProject.subscription_id).where(ContainerProject.id == operation.subject_id)
    )
    if owner is not None:
        await subscriptions.get(session, owner, lock=True)


async def _locked(
    session: AsyncSession, operation: EasypanelOperation
) -> tuple[ContainerProject | None, uuid.UUID | None]:
    """The operation's project under lock, its subscription locked first
    (`_lock_subscription`). Also the subscription the operation provisions, if it is the one
    made on subscribing."""
    await _lock_subscription(session, operation)
    project = await session.get(ContainerProject, operation.subject_id, with_for_update=True)
    named = operation.payload.get("subscriptionId")
    return project, uuid.UUID(named) if named else None


async def _project_created(session: AsyncSession, operation: EasypanelOperation) -> None:
    assert operation.result is not None
    project, subscription_id = await _locked(session, operation)
    if project is not None:
        await _follow_rename(session, project, operation.result["name"])
    if project is not None and project.status == "deleting":
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
        project.status = "active"
        project.last_error = None
        project.updated_at = clock.now()
        if subscription_id is not None:
            await session.flush()
            await refresh_provisioning(session, subscription_id)


async def _follow_rename(session: AsyncSession, project: ContainerProject, name: str) -> None:
    """The project got `name` (`-2`, `-3`... when another owner held the one it asked for): its
    services' Swarm names and the operations queued for it and them, which were recorded with the
    name it asked for, follow. None of those has run yet: they wait for this one."""
    asked = project.easypanel_project_name
    project.easypanel_project_name = name
    if name == asked:
        return
    services = (
        await session.scalars(
            select(ContainerService).where(ContainerService.project_id == project.id)
        )
    ).all()
    for service in services:
        service.swarm_name = swarm_name(name, service.easypanel_service_name)
    queued = await session.scalars(
        select(EasypanelOperation).where(
            EasypanelOperation.subject_id.in_([project.id, *(s.id for s in services)]),
            EasypanelOperation.status == "pending",
        )
    )
    for waiting in queued:
        if waiting.payload.get("project") == asked:
            waiting.payload = {**waiting.payload, "project": name}
        if waiting.target == asked or waiting.target.startswith(f"{asked}/"):
            waiting.target = name + waiting.target[len(asked) :]


async def _project_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    project, subscription_id = await _locked(session, operation)
    if project is not None:
        project.status = "failed"
        project.last_error = operation.last_error
        await session.flush()
    if subscription_id is not None:
        await refresh_provisioning(session, subscription_id)


async def create_project(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Create the project, moving to `-2`, `-3`, ... when another owner holds the name.

    A name is checked before it is first tried, so a project that was there before is never
    taken for ours; only the candidate this operation itself sent may answer "already exists"
    on a retry (the earlier attempt created it, then failed to report it)."""
    names = candidates(operation.payload["base"])
    tried = operation.payload.get("candidate")
    for name in names[names.index(tried) if tried in names else 0 :]:
        if name != tried:
            if await _exists(ctx, name):
                continue
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


async def _exists(ctx: OperationContext, name: str) -> bool:
    try:
        await ctx.client.inspect_project(name)
    except EasypanelNotFound:
        return False
    return True


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


async def update_env(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Send the project's current variables (read at delivery, so the latest change wins)."""
    async with ctx.sessions() as session:
        project = await session.get(ContainerProject, operation.subject_id)
    if project is None:
        return {"skipped": True}
    env = project_env(project)
    await ctx.client.update_project_env(project.easypanel_project_name, env)
    return {"keys": sorted(env)}


HANDLERS: dict[str, Handler] = {
    "easypanel.project.create": Handler(
        create_project,
        on_success=_project_created,
        on_failure=_project_failed,
        locks=_lock_subscription,
    ),
    "easypanel.project.env": Handler(update_env),
    "easypanel.project.destroy": Handler(destroy_project, on_success=_project_destroyed),
}
