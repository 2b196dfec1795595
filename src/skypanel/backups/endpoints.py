"""Backups over HTTP: a database's or an app's volumes' backups (customers) and the storage
(admins)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter, Response, status

from skypanel.accounts.auth import AdminUser
from skypanel.backups import files, service, storage
from skypanel.backups.schemas import (
    BackupOut,
    BackupsOut,
    DownloadOut,
    RestoreIn,
    RestoreOut,
    ScheduleIn,
    ScheduleOut,
    StorageIn,
    StorageOut,
    VolumeOut,
)
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit import clock
from skypanel.kit.uow import release
from skypanel.models import BackupRun, BackupSchedule, BackupStorage, EasypanelOperation
from skypanel.operations.service import operation_ref
from skypanel.organizations.auth import CurrentOrg

router = APIRouter(
    prefix="/api/containers/projects/{project_name}/services/{service_name}/backups",
    tags=["backups"],
)
admin_router = APIRouter(prefix="/api/containers/admin/backups", tags=["backups"])


def backup_view(run: BackupRun, operation: EasypanelOperation | None = None) -> BackupOut:
    out = BackupOut.model_validate(run)
    return (
        out if operation is None else out.model_copy(update={"operation": operation_ref(operation)})
    )


def schedule_view(
    schedule: BackupSchedule, operation: EasypanelOperation | None = None
) -> ScheduleOut:
    return ScheduleOut(
        schedule=schedule.schedule,
        retention=schedule.retention,
        enabled=schedule.enabled,
        operation=None if operation is None else operation_ref(operation),
    )


async def settled(session: Session, runs: Sequence[BackupRun]) -> None:
    """Re-check the runs against the bucket, with the request's transaction ended first."""
    bucket = await service.bucket(session)
    await release(session)
    if bucket is not None and runs:
        found = await storage.head(bucket, service.settle_keys(runs))
        service.settle(runs, found, clock.now())


def _backup_id(backup_id: str) -> uuid.UUID | None:
    """An id that is no UUID is no backup."""
    try:
        return uuid.UUID(backup_id)
    except ValueError:
        return None


@router.get("", response_model=BackupsOut, responses=responses(401, 404, 422, 503))
async def list_backups(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> BackupsOut:
    """The service's schedules (its database's, or one per volume of an app) and backups of
    both kinds, newest first, each re-checked in the bucket: a backup is `done` only while its
    file is there."""
    project, item, schedules, runs = await service.runs_of(session, org, project_name, service_name)
    await settled(session, runs)
    names = (org.id, project.easypanel_project_name, item.easypanel_service_name)
    by_volume = {schedule.volume: schedule_view(schedule) for schedule in schedules}
    return BackupsOut(
        schedule=None if item.service_type == "app" else by_volume.get(None),
        prefix=service.prefix(*names),
        volumes=[
            VolumeOut(
                volume=mount["name"],
                mount_path=mount["mount_path"],
                prefix=service.place(*names, mount["name"]),
                schedule=by_volume.get(mount["name"]),
            )
            for mount in service.volumes(item)
        ],
        backups=[backup_view(run) for run in runs],
    )


@router.post(
    "",
    response_model=BackupOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 402, 404, 409, 422),
)
async def run_backup(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> BackupOut:
    """Back the database up now; the backup is `pending` until its file is in the bucket."""
    run, operation = await service.run_now(session, org, project_name, service_name)
    return backup_view(run, operation)


@router.put("/schedule", response_model=ScheduleOut, responses=responses(401, 402, 404, 409, 422))
async def set_schedule(
    project_name: str, service_name: str, body: ScheduleIn, org: CurrentOrg, session: Session
) -> ScheduleOut:
    """Back up on a cron schedule (UTC), keeping the newest `retention` backups."""
    schedule, operation = await service.set_schedule(session, org, project_name, service_name, body)
    return schedule_view(schedule, operation)


@router.post(
    "/{backup_id}/restore",
    response_model=RestoreOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 402, 404, 409, 422),
)
async def restore_backup(
    project_name: str,
    service_name: str,
    backup_id: str,
    body: RestoreIn,
    org: CurrentOrg,
    session: Session,
) -> RestoreOut:
    """Replace the database's contents with a done backup; `confirm` must be the service's
    name."""
    run, operation = await service.restore(
        session, org, project_name, service_name, _backup_id(backup_id), body
    )
    return RestoreOut(backup=backup_view(run), operation=operation_ref(operation))


@router.post(
    "/volumes/{volume}",
    response_model=BackupOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 402, 404, 409, 422),
)
async def run_volume_backup(
    project_name: str, service_name: str, volume: str, org: CurrentOrg, session: Session
) -> BackupOut:
    """Back one volume of an app up now; `pending` until its archive is in the bucket."""
    run, operation = await service.run_volume_now(session, org, project_name, service_name, volume)
    return backup_view(run, operation)


@router.put(
    "/volumes/{volume}/schedule",
    response_model=ScheduleOut,
    responses=responses(401, 402, 404, 409, 422),
)
async def set_volume_schedule(
    project_name: str,
    service_name: str,
    volume: str,
    body: ScheduleIn,
    org: CurrentOrg,
    session: Session,
) -> ScheduleOut:
    """Back one volume of an app up on a cron schedule (UTC), keeping the newest `retention`."""
    schedule, operation = await service.set_volume_schedule(
        session, org, project_name, service_name, volume, body
    )
    return schedule_view(schedule, operation)


@router.get(
    "/{backup_id}/download",
    response_model=DownloadOut,
    responses=responses(401, 404, 409, 422, 503),
)
async def download_backup(
    project_name: str, service_name: str, backup_id: str, org: CurrentOrg, session: Session
) -> DownloadOut:
    """A link to a done backup's file, valid for 15 minutes: how a volume is restored (by
    hand, from the archive)."""
    url, expires_at = await files.download(
        session, org, project_name, service_name, _backup_id(backup_id)
    )
    return DownloadOut(url=url, expires_at=expires_at)


@router.delete(
    "/{backup_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 404, 409, 422, 503),
)
async def delete_backup(
    project_name: str, service_name: str, backup_id: str, org: CurrentOrg, session: Session
) -> Response:
    """Delete a backup's file from the bucket; it is no longer listed."""
    await files.delete(session, org, project_name, service_name, _backup_id(backup_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def storage_view(
    row: BackupStorage | None, servers: int = 0, operations: Sequence[EasypanelOperation] = ()
) -> StorageOut:
    if row is None:
        return StorageOut(configured=False)
    return StorageOut(
        configured=True,
        endpoint=row.endpoint,
        region=row.region,
        bucket=row.bucket,
        access_key_id=row.access_key_id,
        secret_last4=row.secret_last4,
        servers=servers,
        operations=[operation_ref(op) for op in operations],
    )


@admin_router.get("/storage", response_model=StorageOut, responses=responses(401, 403))
async def get_storage(_: AdminUser, session: Session) -> StorageOut:
    """The backup storage. The secret key is never returned, only its last 4 characters."""
    return storage_view(await service.storage(session), await service.registered(session))


@admin_router.put("/storage", response_model=StorageOut, responses=responses(401, 403, 422))
async def save_storage(body: StorageIn, admin: AdminUser, session: Session) -> StorageOut:
    """Set the S3-compatible bucket every backup goes to; it is registered on every active
    Easypanel server."""
    row, operations = await service.save_storage(session, admin, body)
    return storage_view(row, await service.registered(session), operations)
