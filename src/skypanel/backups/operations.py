"""Backup operations on Easypanel: register the storage on a server, save a database's or a
volume's backup configuration (the payload's `volume` names an app's volume), run a backup,
restore one (databases only). Each reads the current rows when delivered, so the latest schedule
wins; the storage is registered on a server the first time it is needed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from skypanel.backups.service import (
    DEFAULT_RETENTION,
    DEFAULT_SCHEDULE,
    BackupsNotConfigured,
    database_name,
    place,
)
from skypanel.backups.storage import Bucket
from skypanel.easypanel import (
    DatabaseBackupInput,
    RestoreDatabaseBackupInput,
    S3ProviderInput,
    UpdateS3ProviderInput,
    VolumeBackupInput,
)
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import (
    BackupRun,
    BackupSchedule,
    BackupStorage,
    BackupStorageServer,
    ContainerService,
    EasypanelOperation,
)
from skypanel.operations.service import Handler, OperationContext

PROVIDER_NAME = "skypanel-backups"


async def provider_id(
    ctx: OperationContext, server_id: uuid.UUID | None, *, refresh: bool = False
) -> str:
    """The storage's provider id on this server, registering it (or, with `refresh`, updating
    it to the saved settings) first."""
    assert server_id is not None
    async with ctx.sessions() as session:
        storage = await session.scalar(select(BackupStorage))
        known = await session.scalar(
            select(BackupStorageServer.provider_id).where(
                BackupStorageServer.server_id == server_id
            )
        )
        if storage is None:
            raise BackupsNotConfigured("No backup storage is set up")
        bucket = Bucket.of(storage)
    if known is not None and not refresh:
        return known
    settings: dict[str, Any] = {
        "name": PROVIDER_NAME,
        "access_key_id": bucket.access_key_id,
        "secret_access_key": bucket.secret,
        "bucket": bucket.name,
        "region": bucket.region,
        "endpoint": bucket.endpoint,
    }
    if known is None:
        listed = [p for p in await ctx.client.list_storage_providers() if p.name == PROVIDER_NAME]
        known = listed[0].id if listed else None
    if known is None:
        known = (await ctx.client.create_s3_provider(S3ProviderInput(**settings))).id
    else:
        await ctx.client.update_s3_provider(UpdateS3ProviderInput(id=known, **settings))
    async with transaction(ctx.sessions) as session:
        await session.execute(
            insert(BackupStorageServer)
            .values(id=uuid.uuid4(), server_id=server_id, provider_id=known)
            .on_conflict_do_update(
                index_elements=["server_id"], set_={"provider_id": known, "updated_at": clock.now()}
            )
        )
    return known


async def register_storage(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    return {"providerId": await provider_id(ctx, operation.server_id, refresh=True)}


def _volume(operation: EasypanelOperation) -> str | None:
    volume: str | None = operation.payload.get("volume")
    return volume


def _schedule_of(operation: EasypanelOperation) -> tuple[ColumnElement[bool], ...]:
    """The operation's schedule: its service's database's, or the volume's it names."""
    return (
        BackupSchedule.service_id == operation.subject_id,
        BackupSchedule.volume == _volume(operation),
    )


async def _service(
    ctx: OperationContext, operation: EasypanelOperation
) -> tuple[ContainerService | None, BackupSchedule | None]:
    async with ctx.sessions() as session:
        service = await session.get(ContainerService, operation.subject_id)
        schedule = await session.scalar(select(BackupSchedule).where(*_schedule_of(operation)))
        return service, schedule


async def _configure(
    ctx: OperationContext,
    operation: EasypanelOperation,
    service: ContainerService,
    schedule: BackupSchedule | None,
) -> str:
    """Save the database's or the volume's backup configuration on Easypanel; returns its id
    there."""
    project, name = operation.payload["project"], operation.payload["service"]
    volume = _volume(operation)
    assert operation.organization_id is not None
    path = place(operation.organization_id, project, name, volume)
    if volume is not None:
        saved = await ctx.client.save_volume_backup(
            VolumeBackupInput(
                project_name=project,
                service_name=name,
                volume_name=volume,
                enabled=schedule.enabled if schedule else False,
                schedule=schedule.schedule if schedule else DEFAULT_SCHEDULE,
                storage_provider_id=await provider_id(ctx, operation.server_id),
                storage_provider_path=path,
            )
        )
        return saved.id
    body = DatabaseBackupInput(
        project_name=project,
        service_name=name,
        database_name=database_name(service),
        enabled=schedule.enabled if schedule else False,
        schedule=schedule.schedule if schedule else DEFAULT_SCHEDULE,
        storage_provider_id=await provider_id(ctx, operation.server_id),
        storage_provider_path=path,
        retention=schedule.retention if schedule else DEFAULT_RETENTION,
    )
    return (await ctx.client.save_database_backup(body)).id


async def save_schedule(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service, schedule = await _service(ctx, operation)
    if service is None or schedule is None:
        return {"skipped": True}
    return {"backupId": await _configure(ctx, operation, service, schedule)}


async def _schedule_saved(session: AsyncSession, operation: EasypanelOperation) -> None:
    backup_id = (operation.result or {}).get("backupId")
    if backup_id is not None:
        await session.execute(
            update(BackupSchedule)
            .where(*_schedule_of(operation))
            .values(easypanel_backup_id=backup_id, updated_at=clock.now())
        )


def _run_id(operation: EasypanelOperation) -> uuid.UUID:
    return uuid.UUID(operation.payload["backup"])


async def run_backup(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service, schedule = await _service(ctx, operation)
    if service is None:
        return {"skipped": True}
    backup_id = await _configure(ctx, operation, service, schedule)
    project, name = operation.payload["project"], operation.payload["service"]
    action = await (
        ctx.client.run_database_backup(project, name, backup_id)
        if _volume(operation) is None
        else ctx.client.run_volume_backup(project, name, backup_id)
    )
    if action is None:
        return {"backupId": backup_id}
    meta = action.meta or {}
    result = {
        "backupId": backup_id,
        "actionId": action.id,
        "key": meta.get("path"),
        "providerId": meta.get("storageProviderId"),
        "status": action.status,
    }
    if action.status == "error":
        log = (await ctx.client.get_action(action.id)).log or ""
        result["error"] = (log.strip().splitlines() or ["Easypanel reported an error"])[-1]
    return result


async def _run_started(session: AsyncSession, operation: EasypanelOperation) -> None:
    result = operation.result or {}
    values: dict[str, Any] = {
        "easypanel_action_id": result.get("actionId"),
        "key": result.get("key"),
        "provider_id": result.get("providerId"),
    }
    if result.get("status") == "error":
        values |= {"state": "failed", "error": str(result.get("error"))[:1000]}
        values["finished_at"] = clock.now()
    await session.execute(
        update(BackupRun).where(BackupRun.id == _run_id(operation)).values(**values)
    )
    await _schedule_saved(session, operation)


async def _run_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    reason = f"The backup did not start: {operation.last_error or 'no reason given'}"
    await session.execute(
        update(BackupRun)
        .where(BackupRun.id == _run_id(operation), BackupRun.state == "pending")
        .values(state="failed", error=reason[:1000], finished_at=clock.now())
    )


async def restore_backup(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    async with ctx.sessions() as session:
        run = await session.get(BackupRun, _run_id(operation))
    if run is None or run.key is None or run.provider_id is None or run.database_name is None:
        return {"skipped": True}
    await ctx.client.restore_database_backup(
        RestoreDatabaseBackupInput(
            project_name=operation.payload["project"],
            service_name=operation.payload["service"],
            database_name=run.database_name,
            path=run.key,
            storage_provider_id=run.provider_id,
        )
    )
    return {"restored": run.key}


HANDLERS: dict[str, Handler] = {
    "easypanel.backup.storage": Handler(register_storage),
    "easypanel.backup.schedule": Handler(save_schedule, on_success=_schedule_saved),
    "easypanel.backup.run": Handler(run_backup, on_success=_run_started, on_failure=_run_failed),
    "easypanel.backup.restore": Handler(restore_backup),
}
