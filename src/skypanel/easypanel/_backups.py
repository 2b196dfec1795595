"""storageProviders.*, databaseBackups.* and volumeBackups.* (contract §2.8).

A database backup is a configuration on Easypanel (`databaseBackups.create...`: which database,
the cron schedule, the storage provider and the path in it); running it is an action of type
`backup` whose `meta` says where the file went (`{databaseName, path, storageProviderId}`).
2.32 (oRPC) knows `retention`; the 2.16-2.30 tRPC schemas refuse it, so it is not sent there.
A volume backup is the same for one named volume mount of an app (`volumeBackups.*`, no retention,
no restore); its runs are actions of type `volumeBackup` with `meta = {volumeName, path,
storageProviderId}`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from skypanel.easypanel._base import ClientBase, parse, parse_list
from skypanel.easypanel.errors import EasypanelApiError
from skypanel.easypanel.schemas import (
    Action,
    IdInput,
    Input,
    ListActionsInput,
    Name,
    NonEmpty,
    Output,
    ServiceRef,
)

DatabaseName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9_-]{0,62}$")]
StoragePath = Annotated[str, StringConstraints(pattern=r"^[\w\-/.]+$")]
S3Subtype = Literal["other", "aws", "backblaze", "cloudflare-r2", "digital-ocean", "wasabi"]


class S3ProviderInput(Input):
    subtype: S3Subtype = "other"
    name: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    region: str
    endpoint: str | None = None


class UpdateS3ProviderInput(Input):
    id: str
    name: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    region: str
    endpoint: str | None = None


class DatabaseBackupInput(Input):
    project_name: Name
    service_name: Name
    database_name: DatabaseName
    enabled: bool
    schedule: str
    storage_provider_id: str
    storage_provider_path: StoragePath
    retention: int | None = Field(default=None, ge=1)
    """2.31+ only."""


class UpdateDatabaseBackupInput(DatabaseBackupInput):
    id: str


class RestoreDatabaseBackupInput(Input):
    project_name: Name
    service_name: Name
    database_name: str
    path: str
    storage_provider_id: str


class VolumeBackupInput(Input):
    """The 2.16-2.32 schemas agree: project and service names are not pattern-checked here."""

    project_name: str
    service_name: str
    volume_name: str
    enabled: bool
    schedule: NonEmpty
    storage_provider_id: NonEmpty
    storage_provider_path: StoragePath


class UpdateVolumeBackupInput(VolumeBackupInput):
    id: str


class StorageProvider(Output):
    id: str
    name: str
    type: str
    path: str | None = None


class DatabaseBackup(Output):
    id: str
    database_name: str
    schedule: str
    enabled: bool
    storage_provider_id: str | None = None
    storage_provider_path: str | None = None
    retention: int | None = None


class VolumeBackup(Output):
    id: str
    volume_name: str
    schedule: str
    enabled: bool
    storage_provider_id: str | None = None
    storage_provider_path: str | None = None


BackupKind = Literal["backup", "volumeBackup"]


class BackupAction(Action):
    """An action of type `backup` (`meta` is `{databaseName, path, storageProviderId}`) or
    `volumeBackup` (`meta` is `{volumeName, path, storageProviderId}`)."""

    meta: dict[str, Any] | None = None


class BackupsMixin(ClientBase):
    async def create_s3_provider(self, body: S3ProviderInput) -> StorageProvider:
        """Register an S3-compatible bucket; returns it as `storageProviders.common.list` has it."""
        procedure = "storageProviders.s3.createProvider"
        result = await self._send(procedure, body)
        if isinstance(result, dict) and "id" in result:
            return parse(StorageProvider, {"type": "s3", **result}, procedure)
        found = [p for p in await self.list_storage_providers() if p.name == body.name]
        return found[-1]

    async def update_s3_provider(self, body: UpdateS3ProviderInput) -> None:
        await self._send("storageProviders.s3.updateProvider", body)

    async def list_storage_providers(self) -> list[StorageProvider]:
        procedure = "storageProviders.common.list"
        return parse_list(StorageProvider, await self._send(procedure), procedure)

    async def list_database_backups(self, project: str, service: str) -> list[DatabaseBackup]:
        procedure = "databaseBackups.listDatabaseBackups"
        body = ServiceRef(project_name=project, service_name=service)
        return parse_list(DatabaseBackup, await self._send(procedure, body), procedure)

    async def save_database_backup(self, body: DatabaseBackupInput) -> DatabaseBackup:
        """Create the backup configuration of `body.database_name`, or update the one there is;
        returns it as listed afterwards."""
        existing = await self._database_backup(body)
        if existing is None:
            await self._send("databaseBackups.createDatabaseBackup", self._era(body))
        else:
            update = UpdateDatabaseBackupInput(id=existing.id, **body.model_dump())
            await self._send("databaseBackups.updateDatabaseBackup", self._era(update))
        saved = await self._database_backup(body)
        if saved is None:
            raise EasypanelApiError(
                "Easypanel did not keep the backup configuration",
                procedure="databaseBackups.listDatabaseBackups",
            )
        return saved

    async def run_database_backup(
        self, project: str, service: str, backup_id: str
    ) -> BackupAction | None:
        """Start a backup now; returns its action (None if Easypanel shows none yet)."""
        await self._send("databaseBackups.runDatabaseBackup", IdInput(id=backup_id))
        found = await self.backup_actions(project, service, limit=1)
        return found[0] if found else None

    async def backup_actions(
        self, project: str, service: str, *, limit: int = 50, kind: BackupKind = "backup"
    ) -> list[BackupAction]:
        """Backup runs of a service, newest first (scheduled ones included)."""
        procedure = "actions.listActions"
        body = ListActionsInput(project_name=project, service_name=service, limit=limit, type=kind)
        return parse_list(BackupAction, await self._send(procedure, body), procedure)

    async def restore_database_backup(self, body: RestoreDatabaseBackupInput) -> None:
        await self._send("databaseBackups.restoreDatabaseBackup", body)

    async def list_volume_backups(self, project: str, service: str) -> list[VolumeBackup]:
        procedure = "volumeBackups.listVolumeBackups"
        body = ServiceRef(project_name=project, service_name=service)
        return parse_list(VolumeBackup, await self._send(procedure, body), procedure)

    async def save_volume_backup(self, body: VolumeBackupInput) -> VolumeBackup:
        """Create the backup configuration of `body.volume_name`, or update the one there is;
        returns it as listed afterwards."""
        existing = await self._volume_backup(body)
        if existing is None:
            await self._send("volumeBackups.createVolumeBackup", body)
        else:
            update = UpdateVolumeBackupInput(id=existing.id, **body.model_dump())
            await self._send("volumeBackups.updateVolumeBackup", update)
        saved = await self._volume_backup(body)
        if saved is None:
            raise EasypanelApiError(
                "Easypanel did not keep the volume backup configuration",
                procedure="volumeBackups.listVolumeBackups",
            )
        return saved

    async def run_volume_backup(
        self, project: str, service: str, backup_id: str
    ) -> BackupAction | None:
        """Back a volume up now; returns its action (None if Easypanel shows none yet)."""
        await self._send("volumeBackups.runVolumeBackup", IdInput(id=backup_id))
        found = await self.backup_actions(project, service, limit=1, kind="volumeBackup")
        return found[0] if found else None

    async def _volume_backup(self, body: VolumeBackupInput) -> VolumeBackup | None:
        listed = await self.list_volume_backups(body.project_name, body.service_name)
        found = [b for b in listed if b.volume_name == body.volume_name]
        return found[-1] if found else None

    async def _database_backup(self, body: DatabaseBackupInput) -> DatabaseBackup | None:
        listed = await self.list_database_backups(body.project_name, body.service_name)
        found = [b for b in listed if b.database_name == body.database_name]
        return found[-1] if found else None

    def _era(self, body: DatabaseBackupInput) -> DatabaseBackupInput:
        """The tRPC-era servers refuse `retention` (SkyPanel applies it itself there)."""
        if self.dialect == "trpc":
            return body.model_copy(update={"retention": None})
        return body
