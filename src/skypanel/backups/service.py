"""Backups of database services and of apps' volumes: the admin's storage, a schedule per
database or volume, run now, restore (databases). Deleting and downloading a backup's file
are in `files.py`.

Every change on Easypanel is an operation recorded with the request (see `operations.py`).
A backup's state is read from the bucket (`settle`), never taken on Easypanel's word: `done`
only once its file is there with a size, `failed` when Easypanel said so or the file is gone.
Each organization's files live under its own prefix, built from its id (`prefix`); a volume's
under `<prefix>/volumes/<volume>`. Easypanel cannot restore a volume: its archive is downloaded
through a short-lived presigned link and put back by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.backups.schemas import RestoreIn, ScheduleIn, StorageIn
from skypanel.backups.storage import Bucket, Found, secret_place
from skypanel.kit import clock
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.models import (
    BackupRun,
    BackupSchedule,
    BackupStorage,
    BackupStorageServer,
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    EasypanelServer,
    User,
)
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.services.service import get as get_service
from skypanel.services.service import queue_operation
from skypanel.subscriptions.service import require_active

BACKED_UP = frozenset({"postgres", "mysql", "mariadb", "mongo"})
DEFAULT_SCHEDULE = "0 3 * * *"
DEFAULT_RETENTION = 7
LANDING_TIME = timedelta(hours=1)
"""How long a started backup may take to appear in the bucket before it counts as failed."""


class BackupsNotConfigured(Conflict):
    code = "BACKUPS_NOT_CONFIGURED"


class BackupsNotSupported(InvalidInput):
    code = "BACKUPS_NOT_SUPPORTED"


class BackupNotFound(NotFound):
    code = "BACKUP_NOT_FOUND"


class BackupNotRestorable(Conflict):
    code = "BACKUP_NOT_RESTORABLE"


class VolumeNotFound(NotFound):
    code = "VOLUME_NOT_FOUND"


class ConfirmationMismatch(InvalidInput):
    code = "CONFIRMATION_MISMATCH"


def prefix(organization_id: uuid.UUID, project: str, service: str) -> str:
    """Where a service's backups live in the bucket: under its organization's id, so two
    organizations never share a path."""
    return f"orgs/{organization_id}/{project}/{service}"


def place(organization_id: uuid.UUID, project: str, service: str, volume: str | None) -> str:
    """Where one database's (`volume` None) or volume's backups live in the bucket."""
    found = prefix(organization_id, project, service)
    return found if volume is None else f"{found}/volumes/{volume}"


def volumes(service: ContainerService) -> list[dict[str, str]]:
    """An app's named volume mounts (`name`, `mount_path`), the ones Easypanel backs up."""
    if service.service_type != "app":
        return []
    mounts = service.configuration.get("mounts") or []
    return [m for m in mounts if m.get("type", "volume") == "volume"]


def database_name(service: ContainerService) -> str:
    """The database a backup dumps (mongo dumps from `admin`)."""
    return str(service.configuration.get("database") or "admin")


async def storage(session: AsyncSession) -> BackupStorage | None:
    found: BackupStorage | None = await session.scalar(select(BackupStorage))
    return found


async def bucket(session: AsyncSession) -> Bucket | None:
    found = await storage(session)
    return None if found is None else Bucket.of(found)


async def registered(session: AsyncSession) -> int:
    """On how many Easypanel servers the storage is registered."""
    return int(await session.scalar(select(func.count()).select_from(BackupStorageServer)) or 0)


async def save_storage(
    session: AsyncSession, admin: User, data: StorageIn
) -> tuple[BackupStorage, list[EasypanelOperation]]:
    """Save the storage and register it on every active Easypanel server."""
    row = await storage(session)
    if row is None:
        row = BackupStorage(id=uuid.uuid4())
        session.add(row)
    row.endpoint = str(data.endpoint).rstrip("/") if data.endpoint else None
    row.region, row.bucket, row.access_key_id = data.region, data.bucket, data.access_key_id
    row.secret_encrypted = encrypt_secret(data.secret_access_key, secret_place(row.id))
    row.secret_last4 = data.secret_access_key[-4:]
    row.updated_at = clock.now()
    await session.flush()
    servers = (await session.scalars(select(EasypanelServer).where(EasypanelServer.active))).all()
    operations = [
        await enqueue(
            session,
            "easypanel.backup.storage",
            f"storage/{server.id}",
            server_id=server.id,
            organization_id=None,
            subject=("server", server.id),
        )
        for server in servers
    ]
    await record(
        session,
        "admin.backups.storage",
        f"Backup storage set to bucket {row.bucket}",
        user_id=admin.id,
        entity_type="backup_storage",
        entity_id=row.id,
    )
    return row, operations


async def _database(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService]:
    project, service = await get_service(session, org, project_name, service_name)
    if service.service_type not in BACKED_UP:
        raise BackupsNotSupported(
            f"{service_name} is a {service.service_type} service: backups are for postgres,"
            " mysql, mariadb and mongo databases",
            field="serviceName",
        )
    return project, service


async def backed_up(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService]:
    """A database, or an app (whose volumes are backed up)."""
    project, service = await get_service(session, org, project_name, service_name)
    if service.service_type not in BACKED_UP | {"app"}:
        raise BackupsNotSupported(
            f"{service_name} is a {service.service_type} service: backups are for databases"
            " and the volumes of apps",
            field="serviceName",
        )
    return project, service


async def _volume(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, volume: str
) -> tuple[ContainerProject, ContainerService]:
    project, service = await get_service(session, org, project_name, service_name)
    if service.service_type != "app":
        raise BackupsNotSupported(
            f"{service_name} is a {service.service_type} service: volume backups are for apps",
            field="serviceName",
        )
    if volume not in {m["name"] for m in volumes(service)}:
        raise VolumeNotFound(f"{service_name} has no volume named {volume}", field="volume")
    return project, service


async def _ready(session: AsyncSession, org: OrgContext) -> None:
    await require_active(session, org.id)
    if await storage(session) is None:
        raise BackupsNotConfigured("Backups are not available yet: no backup storage is set up")


async def schedules_of(
    session: AsyncSession, service: ContainerService
) -> Sequence[BackupSchedule]:
    """The service's schedules: its database's, or one per volume of an app."""
    return (
        await session.scalars(
            select(BackupSchedule)
            .where(BackupSchedule.service_id == service.id)
            .order_by(BackupSchedule.volume)
        )
    ).all()


async def set_schedule(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, data: ScheduleIn
) -> tuple[BackupSchedule, EasypanelOperation]:
    project, service = await _database(session, org, project_name, service_name)
    return await _schedule(session, org, project, service, None, data)


async def set_volume_schedule(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    volume: str,
    data: ScheduleIn,
) -> tuple[BackupSchedule, EasypanelOperation]:
    project, service = await _volume(session, org, project_name, service_name, volume)
    return await _schedule(session, org, project, service, volume, data)


async def _schedule(
    session: AsyncSession,
    org: OrgContext,
    project: ContainerProject,
    service: ContainerService,
    volume: str | None,
    data: ScheduleIn,
) -> tuple[BackupSchedule, EasypanelOperation]:
    await _ready(session, org)
    found = [s for s in await schedules_of(session, service) if s.volume == volume]
    schedule = found[0] if found else None
    if schedule is None:
        kind = "database" if volume is None else "volume"
        schedule = BackupSchedule(
            service_id=service.id, organization_id=org.id, kind=kind, volume=volume
        )
        session.add(schedule)
    schedule.schedule, schedule.retention = data.schedule, data.retention
    schedule.enabled = data.enabled
    schedule.updated_at = clock.now()
    await session.flush()
    operation = await queue_operation(
        session,
        org.id,
        project,
        service,
        "easypanel.backup.schedule",
        payload=None if volume is None else {"volume": volume},
    )
    state = "on" if data.enabled else "off"
    named = what(service, volume)
    await log_event(session, org, service, f"Backups of {named}: {data.schedule} ({state})")
    return schedule, operation


def what(service: ContainerService, volume: str | None) -> str:
    name = service.service_name
    return name if volume is None else f"volume {volume} of {name}"


async def run_now(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[BackupRun, EasypanelOperation]:
    project, service = await _database(session, org, project_name, service_name)
    return await _start(session, org, project, service, None)


async def run_volume_now(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, volume: str
) -> tuple[BackupRun, EasypanelOperation]:
    project, service = await _volume(session, org, project_name, service_name, volume)
    return await _start(session, org, project, service, volume)


async def _start(
    session: AsyncSession,
    org: OrgContext,
    project: ContainerProject,
    service: ContainerService,
    volume: str | None,
) -> tuple[BackupRun, EasypanelOperation]:
    await _ready(session, org)
    run = BackupRun(
        id=uuid.uuid4(),
        service_id=service.id,
        organization_id=org.id,
        server_id=project.server_id,
        kind="database" if volume is None else "volume",
        volume=volume,
        database_name=database_name(service) if volume is None else None,
        requested_at=clock.now(),
        state="pending",
        scheduled=False,
    )
    session.add(run)
    await session.flush()
    where = {} if volume is None else {"volume": volume}
    operation = await queue_operation(
        session, org.id, project, service, "easypanel.backup.run", payload=where
    )
    operation.payload = {**operation.payload, "backup": str(run.id)}
    run.operation_id = operation.id
    await log_event(session, org, service, f"Backup of {what(service, volume)} started")
    return run, operation


async def runs_of(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService, Sequence[BackupSchedule], Sequence[BackupRun]]:
    """A service's schedules and backups (its database's, or its volumes'), newest first
    (readable while suspended)."""
    project, service = await backed_up(session, org, project_name, service_name)
    runs = (
        await session.scalars(
            select(BackupRun)
            .where(
                BackupRun.organization_id == org.id,
                BackupRun.service_id == service.id,
                BackupRun.deleted_at.is_(None),
            )
            .order_by(BackupRun.requested_at.desc(), BackupRun.id)
        )
    ).all()
    return project, service, await schedules_of(session, service), runs


def settle(runs: Sequence[BackupRun], found: dict[str, Found | None], now: datetime) -> None:
    """Set each run's state from what the bucket holds (`found`, by key)."""
    for run in runs:
        if run.state == "pending" and run.key is None and now - run.requested_at > LANDING_TIME:
            run.state, run.finished_at = "failed", now
            run.error = "Easypanel never started the backup"
        if run.state == "failed" or run.key is None or run.key not in found:
            continue
        seen = found[run.key]
        if seen is not None and seen.size > 0:
            run.state, run.size, run.finished_at = "done", seen.size, seen.modified
            continue
        if run.state == "pending" and now - run.requested_at < LANDING_TIME and seen is None:
            continue
        run.state, run.finished_at = "failed", run.finished_at or now
        run.error = (
            "The backup file is empty"
            if seen is not None
            else "The backup file is not in the storage"
        )


def settle_keys(runs: Sequence[BackupRun]) -> list[str]:
    """The files to look for in the bucket to settle these runs."""
    return [run.key for run in runs if run.key is not None and run.state != "failed"]


async def restore(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    backup_id: uuid.UUID | None,
    data: RestoreIn,
) -> tuple[BackupRun, EasypanelOperation]:
    """Put a done backup back into its database, once the service's name is typed (an id that
    is no UUID is no backup: `backup_id` None)."""
    project, service = await _database(session, org, project_name, service_name)
    await require_active(session, org.id)
    run = await backup_of(session, org, service, backup_id)
    if data.confirm != service.service_name:
        raise ConfirmationMismatch(
            f"Type the service's name, {service.service_name}, to confirm the restore",
            field="confirm",
        )
    if run.state != "done":
        raise BackupNotRestorable(f"Only a done backup can be restored; this one is {run.state}")
    operation = await queue_operation(session, org.id, project, service, "easypanel.backup.restore")
    operation.payload = {**operation.payload, "backup": str(run.id)}
    await log_event(session, org, service, f"Backup of {service_name} restored")
    return run, operation


async def backup_of(
    session: AsyncSession, org: OrgContext, service: ContainerService, backup_id: uuid.UUID | None
) -> BackupRun:
    """One of the organization's backups of this service (an id that is no UUID is none)."""
    run = (
        None
        if backup_id is None
        else await session.scalar(
            select(BackupRun).where(
                BackupRun.id == backup_id,
                BackupRun.organization_id == org.id,
                BackupRun.service_id == service.id,
                BackupRun.deleted_at.is_(None),
            )
        )
    )
    if run is None:
        raise BackupNotFound(f"No backup {backup_id} of {service.service_name}")
    return run


async def log_event(
    session: AsyncSession, org: OrgContext, service: ContainerService, message: str
) -> None:
    await record(
        session,
        "container.service.backup",
        message,
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_service",
        entity_id=service.id,
    )
