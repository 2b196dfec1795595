"""The steps of a move (`skypanel.moves.service`), each a persisted operation delivered on the
server it names: create the project, stop the apps that write to a database on the source,
recreate each app and database on the target (with the services' own create handlers: what is
there already from an earlier attempt counts as done), restore each database's backup, save its
backup schedules and attach each custom domain again there, switch the records under row locks,
then remove the old projects from the source. Each step that ends counts on the move's row; one
that fails for good fails the move (the steps after it fail with it, so nothing on the source is
removed) and, before the switch, starts again on the source the apps the move stopped there."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.backups import operations as backup_operations
from skypanel.backups.operations import provider_id
from skypanel.domains import operations as domain_operations
from skypanel.easypanel import (
    EasypanelNotFound,
    EasypanelResourceExists,
    RestoreDatabaseBackupInput,
)
from skypanel.kit import clock
from skypanel.models import (
    BackupRun,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
    OrganizationMove,
    ServicePort,
)
from skypanel.operations.service import Handler, OperationContext
from skypanel.projects.env import project_env
from skypanel.projects.operations import destroy_project
from skypanel.services.operations import create_app, create_database, stop_service
from skypanel.services.service import queue_operation
from skypanel.subscriptions import provisioning
from skypanel.subscriptions import repository as subscriptions


def _id(operation: EasypanelOperation, key: str) -> uuid.UUID:
    return uuid.UUID(operation.payload[key])


async def _move(session: AsyncSession, operation: EasypanelOperation) -> OrganizationMove:
    move = await session.get(OrganizationMove, _id(operation, "move"), with_for_update=True)
    assert move is not None
    return move


async def _step_done(session: AsyncSession, operation: EasypanelOperation) -> None:
    move = await _move(session, operation)
    move.steps_done = min(move.steps_total, operation.payload["step"] + 1)
    move.state = "done" if move.steps_done == move.steps_total else "running"
    move.updated_at = clock.now()
    if move.state == "done":
        move.finished_at = clock.now()


async def _step_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The move fails with the first step that failed for good (those after it only waited)."""
    move = await _move(session, operation)
    if move.state == "failed":
        return
    move.state = "failed"
    move.last_error = f"{operation.kind} ({operation.target}): {operation.last_error}"[:1000]
    move.finished_at = move.updated_at = clock.now()
    await _start_again(session, move)


async def _start_again(session: AsyncSession, move: OrganizationMove) -> None:
    """The apps the move stopped on the source run there again, unless their owner wants them
    stopped or the records switched already (then they run on the target)."""
    stopped = select(EasypanelOperation.subject_id).where(
        EasypanelOperation.kind == "easypanel.move.stop",
        EasypanelOperation.server_id == move.source_server_id,
        EasypanelOperation.payload["move"].astext == str(move.id),
        EasypanelOperation.attempts > 0,
    )
    rows = await session.execute(
        select(ContainerService, ContainerProject)
        .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
        .where(
            ContainerService.id.in_(stopped),
            ContainerService.desired_state == "running",
            ContainerProject.server_id == move.source_server_id,
        )
        .order_by(ContainerService.created_at, ContainerService.id)
    )
    for service, project in rows:
        await queue_operation(
            session, move.organization_id, project, service, "easypanel.service.start"
        )


async def create_project(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    async with ctx.sessions() as session:
        project = await session.get(ContainerProject, _id(operation, "projectId"))
    if project is None:
        return {"skipped": True}
    try:
        await ctx.client.create_project(operation.target)
    except EasypanelResourceExists:
        if operation.attempts == 1:
            raise
    if project.env_encrypted is not None:
        await ctx.client.update_project_env(operation.target, project_env(project))
    return {"created": operation.target}


async def stop(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Stop the app (stopping a stopped one does nothing; one that is gone writes nothing)."""
    try:
        return await stop_service(ctx, operation)
    except EasypanelNotFound:
        return {"missing": True}


class BackupMissing(LookupError):
    """The move's backup of a database left nothing to restore."""


async def restore(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Put the move's backup, taken on the source, into the database created on the target,
    through the storage registered on the target."""
    async with ctx.sessions() as session:
        run = await session.get(BackupRun, _id(operation, "backup"))
    if run is None or run.key is None or run.database_name is None or run.state == "failed":
        reason = run.error if run is not None and run.error else "it recorded no file"
        raise BackupMissing(f"The backup taken for the move cannot be restored: {reason}")
    await ctx.client.restore_database_backup(
        RestoreDatabaseBackupInput(
            project_name=operation.payload["project"],
            service_name=operation.payload["service"],
            database_name=run.database_name,
            path=run.key,
            storage_provider_id=await provider_id(ctx, operation.server_id),
        )
    )
    return {"restored": run.key}


_ATTACH = domain_operations.HANDLERS["easypanel.domain.attach"]
_LOGIN = provisioning.HANDLERS["easypanel.user.create"]
_LOGOUT = provisioning.HANDLERS["easypanel.user.destroy"]
_SCHEDULE = backup_operations.HANDLERS["easypanel.backup.schedule"]


async def _login_created(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The subscription records its login on the target (the source's goes at the cleanup)."""
    assert _LOGIN.on_success is not None
    await _LOGIN.on_success(session, operation)
    await _step_done(session, operation)


async def _domain_attached(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The domain's record takes its id on the target, as any attach does."""
    assert _ATTACH.on_success is not None
    await _ATTACH.on_success(session, operation)
    await _step_done(session, operation)


async def _schedule_saved(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The schedule records its configuration's id on the target."""
    assert _SCHEDULE.on_success is not None
    await _SCHEDULE.on_success(session, operation)
    await _step_done(session, operation)


async def switch(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Nothing to call: the new resources exist, the records switch when this succeeds."""
    return {}


async def _switched(session: AsyncSession, operation: EasypanelOperation) -> None:
    """Every record of the organization points at the target, under row locks."""
    move = await _move(session, operation)
    target = move.target_server_id
    organization = ContainerSubscription.organization_id == move.organization_id
    await session.execute(select(ContainerSubscription.id).where(organization).with_for_update())
    await subscriptions.lock_resources(session, move.organization_id)  # in the order all take
    await session.execute(
        update(ContainerSubscription)
        .where(organization, ContainerSubscription.server_id == move.source_server_id)
        .values(server_id=target, updated_at=clock.now())
    )
    await session.execute(
        update(ContainerProject)
        .where(ContainerProject.organization_id == move.organization_id)
        .values(server_id=target, updated_at=clock.now())
    )
    services = select(ContainerService.id).where(
        ContainerService.organization_id == move.organization_id
    )
    await session.execute(
        update(ContainerService)
        .where(ContainerService.id.in_(services))
        .values(server_id=target, updated_at=clock.now())
    )
    await session.execute(
        update(ServicePort).where(ServicePort.service_id.in_(services)).values(server_id=target)
    )
    await _step_done(session, operation)


HANDLERS: dict[str, Handler] = {
    "easypanel.move.project": Handler(
        create_project, on_success=_step_done, on_failure=_step_failed
    ),
    "easypanel.move.stop": Handler(stop, on_success=_step_done, on_failure=_step_failed),
    "easypanel.move.app": Handler(create_app, on_success=_step_done, on_failure=_step_failed),
    "easypanel.move.database": Handler(
        create_database, on_success=_step_done, on_failure=_step_failed
    ),
    "easypanel.move.login": Handler(_LOGIN.run, on_success=_login_created, on_failure=_step_failed),
    "easypanel.move.logout": Handler(_LOGOUT.run, on_success=_step_done, on_failure=_step_failed),
    "easypanel.move.domain": Handler(
        _ATTACH.run, on_success=_domain_attached, on_failure=_step_failed
    ),
    "easypanel.move.restore": Handler(restore, on_success=_step_done, on_failure=_step_failed),
    "easypanel.move.schedule": Handler(
        _SCHEDULE.run, on_success=_schedule_saved, on_failure=_step_failed
    ),
    "easypanel.move.switch": Handler(switch, on_success=_switched, on_failure=_step_failed),
    "easypanel.move.cleanup": Handler(
        destroy_project, on_success=_step_done, on_failure=_step_failed
    ),
}
