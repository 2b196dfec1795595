"""A backup's file in the bucket, for database and volume backups alike: deleting it, and a
short-lived presigned link to download it (how a volume is restored: by hand, from its archive).
Both work while the subscription is suspended, and call the bucket with the request's
transaction ended."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.backups import storage
from skypanel.backups.service import (
    BackupsNotConfigured,
    backed_up,
    backup_of,
    bucket,
    log_event,
    settle,
    settle_keys,
    what,
)
from skypanel.backups.storage import Bucket
from skypanel.kit import clock
from skypanel.kit.errors import Conflict
from skypanel.kit.uow import release
from skypanel.models import BackupRun, ContainerService
from skypanel.organizations.context import OrgContext

DOWNLOAD_TIME = timedelta(minutes=15)
"""How long a download link works."""


class BackupNotDownloadable(Conflict):
    code = "BACKUP_NOT_DOWNLOADABLE"


async def _stored(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    backup_id: uuid.UUID | None,
) -> tuple[ContainerService, BackupRun, Bucket]:
    """The backup and the bucket it is in, with the request's transaction ended (the bucket
    is called next)."""
    _, service = await backed_up(session, org, project_name, service_name)
    run = await backup_of(session, org, service, backup_id)
    found = await bucket(session)
    if found is None:
        raise BackupsNotConfigured("Backups are not available: no backup storage is set up")
    await release(session)
    return service, run, found


async def delete(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    backup_id: uuid.UUID | None,
) -> None:
    """Delete a backup's file from the bucket, then forget the backup (also while suspended)."""
    service, run, found = await _stored(session, org, project_name, service_name, backup_id)
    if run.key is not None:
        await storage.delete(found, [run.key])
    run.deleted_at = clock.now()
    await log_event(session, org, service, f"Backup of {what(service, run.volume)} deleted")


async def download(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    backup_id: uuid.UUID | None,
) -> tuple[str, datetime]:
    """A link to a done backup's file that works for `DOWNLOAD_TIME`, once the bucket has
    confirmed the file is there (also while suspended, so an organization can take its data)."""
    _, run, found = await _stored(session, org, project_name, service_name, backup_id)
    settle([run], await storage.head(found, settle_keys([run])), clock.now())
    if run.state != "done" or run.key is None:
        raise BackupNotDownloadable(
            f"Only a done backup can be downloaded; this one is {run.state}"
        )
    url = storage.presign(found, run.key, int(DOWNLOAD_TIME.total_seconds()))
    return url, clock.now() + DOWNLOAD_TIME
