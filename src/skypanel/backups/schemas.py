"""API models of backups: the storage (admins), a service's schedules (its database's, or each
volume's of an app) and its backups, and a backup's download link."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import AfterValidator, AnyHttpUrl, Field

from skypanel.kit.schema import ApiModel, InputModel
from skypanel.operations.schemas import OperationRef


def _cron(value: str) -> str:
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(
            "must be a cron expression of five fields (minute hour day month weekday),"
            " e.g. '0 3 * * *' for every day at 03:00 UTC"
        )
    return value


Cron = Annotated[str, Field(max_length=100), AfterValidator(_cron)]


class StorageIn(InputModel):
    endpoint: AnyHttpUrl | None = Field(
        default=None, description="The S3 API's URL; omit for AWS itself"
    )
    region: str = Field(min_length=1, max_length=64)
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    access_key_id: str = Field(min_length=1, max_length=256)
    secret_access_key: str = Field(min_length=1, max_length=256)


class StorageOut(ApiModel):
    """The storage as admins see it: the secret is never returned, only its last 4 characters."""

    configured: bool
    endpoint: str | None = None
    region: str | None = None
    bucket: str | None = None
    access_key_id: str | None = None
    secret_last4: str | None = None
    servers: int = Field(default=0, description="Easypanel servers the storage is registered on")
    operations: list[OperationRef] = Field(default_factory=list)


class ScheduleIn(InputModel):
    schedule: Cron = Field(description="Cron, five fields, in UTC")
    retention: int = Field(ge=1, le=365, description="Backups kept; older ones are deleted")
    enabled: bool = True


class ScheduleOut(ApiModel):
    schedule: str
    retention: int
    enabled: bool
    operation: OperationRef | None = None


BackupState = Literal["pending", "done", "failed"]
BackupKind = Literal["database", "volume"]


class BackupOut(ApiModel):
    id: uuid.UUID
    kind: BackupKind
    volume: str | None = Field(description="The app's volume backed up; null for a database")
    state: BackupState
    database_name: str | None
    size: int | None
    requested_at: datetime
    finished_at: datetime | None
    scheduled: bool
    error: str | None
    operation: OperationRef | None = None


class VolumeOut(ApiModel):
    """One named volume mount of an app, with its own schedule and place in the bucket."""

    volume: str
    mount_path: str
    prefix: str
    schedule: ScheduleOut | None


class BackupsOut(ApiModel):
    schedule: ScheduleOut | None = Field(description="The database's schedule (null for apps)")
    prefix: str = Field(description="Where this service's backups live in the bucket")
    volumes: list[VolumeOut] = Field(
        default_factory=list, description="An app's volume mounts (empty for databases)"
    )
    backups: list[BackupOut]


class DownloadOut(ApiModel):
    url: str = Field(description="A presigned link to the backup's file, valid until expiresAt")
    expires_at: datetime


class RestoreIn(InputModel):
    confirm: str = Field(description="The service's name, typed to confirm the restore")


class RestoreOut(ApiModel):
    backup: BackupOut
    operation: OperationRef
