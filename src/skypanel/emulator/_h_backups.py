"""storageProviders.s3.*, storageProviders.common.list, databaseBackups.* and volumeBackups.*.

S3 providers are kept with their credentials; a backup run really writes the database's `data`
(gzipped) to the provider's bucket at ``<storageProviderPath>/<timestamp>-<id>.sql.gz`` and a
restore reads it back, both with boto3 against the provider's endpoint. Each run is an action of
type `backup` with `meta = {databaseName, path, storageProviderId}` (contract §2.8); a write that
fails leaves the action in `error` with the reason in its log. Volume backups of an app's volume
mounts write the volume's emulated contents (``.tar.gz``) the same way, as `volumeBackup`
actions with `meta = {volumeName, path, storageProviderId}`.
"""

from __future__ import annotations

import gzip
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from skypanel.easypanel._backups import (
    DatabaseBackupInput,
    RestoreDatabaseBackupInput,
    S3ProviderInput,
    UpdateDatabaseBackupInput,
    UpdateS3ProviderInput,
    UpdateVolumeBackupInput,
    VolumeBackupInput,
)
from skypanel.easypanel.schemas import IdInput, ServiceRef
from skypanel.emulator._registry import procedure
from skypanel.emulator._state import new_id
from skypanel.emulator._world import EmulatorError, World, public

_WITH_DATABASES = {"postgres", "mysql", "mariadb", "mongo"}
_S3_TIMEOUTS = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 1})


def _s3(provider: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=provider.get("endpoint") or None,
        region_name=provider["region"],
        aws_access_key_id=provider["accessKeyId"],
        aws_secret_access_key=provider["secretAccessKey"],
        config=_S3_TIMEOUTS,
    )


def _provider(world: World, provider_id: str) -> dict[str, Any]:
    found = world.state.storage_providers.get(provider_id)
    if found is None:
        raise EmulatorError("Storage provider not found")
    return found


def _shown(provider: dict[str, Any]) -> dict[str, Any]:
    """As `storageProviders.common.list` shows it: no credentials."""
    return {key: provider[key] for key in ("id", "name", "type", "path")}


@procedure("storageProviders.s3.createProvider", S3ProviderInput)
def create_s3(world: World, body: S3ProviderInput) -> Any:
    provider = {"id": new_id(), "type": "s3", "path": body.bucket, **body.wire()}
    provider["createdAt"] = world.now_iso()
    world.state.storage_providers[provider["id"]] = provider
    return _shown(provider)


@procedure("storageProviders.s3.updateProvider", UpdateS3ProviderInput, void=True)
def update_s3(world: World, body: UpdateS3ProviderInput) -> None:
    provider = _provider(world, body.id)
    provider.update(body.wire())
    provider["path"] = body.bucket


@procedure("storageProviders.s3.deleteProvider", IdInput, void=True)
def delete_s3(world: World, body: IdInput) -> None:
    _provider(world, body.id)
    del world.state.storage_providers[body.id]


@procedure("storageProviders.common.list")
def list_providers(world: World, _: None) -> Any:
    return [_shown(p) for p in world.state.storage_providers.values()]


def _database(
    world: World, body: ServiceRef | DatabaseBackupInput | RestoreDatabaseBackupInput
) -> dict[str, Any]:
    found = world.state.services.get(f"{body.project_name}/{body.service_name}")
    if found is None or found["type"] not in _WITH_DATABASES:
        raise EmulatorError("Service is not supported")
    return found


def _names(service: dict[str, Any]) -> list[str]:
    return [service.get("databaseName") or "admin"]


@procedure("databaseBackups.getServiceDatabases", ServiceRef)
def service_databases(world: World, body: ServiceRef) -> Any:
    return _names(_database(world, body))


@procedure("databaseBackups.listDatabaseBackups", ServiceRef)
def list_backups(world: World, body: ServiceRef) -> Any:
    _database(world, body)
    return [
        public(b)
        for b in world.state.database_backups.values()
        if (b["projectName"], b["serviceName"]) == (body.project_name, body.service_name)
    ]


def _checked(world: World, body: DatabaseBackupInput) -> dict[str, Any]:
    _database(world, body)
    _provider(world, body.storage_provider_id)
    fields = body.wire()
    fields.pop("id", None)
    if world.settings.era == "legacy":
        fields.pop("retention", None)  # not in the 2.16-2.30 schemas: zod strips it
    return fields


@procedure("databaseBackups.createDatabaseBackup", DatabaseBackupInput, void=True)
def create_backup(world: World, body: DatabaseBackupInput) -> None:
    backup = {"id": new_id(), **_checked(world, body), "createdAt": world.now_iso()}
    world.state.database_backups[backup["id"]] = backup


@procedure("databaseBackups.updateDatabaseBackup", UpdateDatabaseBackupInput, void=True)
def update_backup(world: World, body: UpdateDatabaseBackupInput) -> None:
    backup = _backup(world, body.id)
    backup.update(_checked(world, body))


@procedure("databaseBackups.deleteDatabaseBackup", IdInput, void=True)
def delete_backup(world: World, body: IdInput) -> None:
    _backup(world, body.id)
    del world.state.database_backups[body.id]


def _backup(world: World, backup_id: str) -> dict[str, Any]:
    found = world.state.database_backups.get(backup_id)
    if found is None:
        raise EmulatorError("Backup not found")
    return found


@procedure("databaseBackups.runDatabaseBackup", IdInput, void=True)
def run_backup(world: World, body: IdInput) -> None:
    run(world, _backup(world, body.id), by_api=True)


def run(world: World, backup: dict[str, Any], *, by_api: bool) -> dict[str, Any]:
    """A database backup run (asked for, or due by its schedule)."""
    project, name = backup["projectName"], backup["serviceName"]
    service = world.service(project, name)
    if not world.runtime(project, name).actual:
        raise EmulatorError("Invariant failed")
    content = str(service.get("_data", ""))
    meta = {"databaseName": backup["databaseName"]}
    return _upload(world, "backup", backup, content, meta, suffix=".sql.gz", by_api=by_api)


def _upload(
    world: World,
    kind: str,
    config: dict[str, Any],
    content: str,
    meta: dict[str, Any],
    *,
    suffix: str,
    by_api: bool,
) -> dict[str, Any]:
    """One backup run: the file lands in the bucket or the action says why not."""
    project, name = config["projectName"], config["serviceName"]
    provider = _provider(world, config["storageProviderId"])
    stamp = world.now_iso().replace(":", "-")
    action_id = new_id()
    key = f"{config['storageProviderPath'].strip('/')}/{stamp}-{action_id[-6:]}{suffix}"
    description = "Database backup" if kind == "backup" else "Volume backup"
    action = world.add_action(kind, project, name, description, pending=False)
    action |= {"id": action_id, "isApiAction": by_api}
    action["meta"] = {**meta, "path": key, "storageProviderId": provider["id"]}
    try:
        _s3(provider).put_object(
            Bucket=provider["bucket"], Key=key, Body=gzip.compress(content.encode())
        )
    except (BotoCoreError, ClientError) as exc:
        action["status"] = "error"
        action["_log"] = f"Upload failed: {exc}\n"
    else:
        action["_log"] = f"Uploaded {key}\nDone.\n"
    return action


@procedure("databaseBackups.restoreDatabaseBackup", RestoreDatabaseBackupInput, void=True)
def restore_backup(world: World, body: RestoreDatabaseBackupInput) -> None:
    service = _database(world, body)
    if body.database_name not in _names(service):
        raise EmulatorError("Database not found")
    provider = _provider(world, body.storage_provider_id)
    try:
        found = _s3(provider).get_object(Bucket=provider["bucket"], Key=body.path)
        data = gzip.decompress(found["Body"].read()).decode()
    except (BotoCoreError, ClientError, OSError) as exc:
        raise EmulatorError(f"Restore failed: {exc}") from exc
    service["_data"] = data


def _app(world: World, project: str, service: str) -> dict[str, Any]:
    found = world.service(project, service)
    if found["type"] != "app":
        raise EmulatorError("Invalid service type")
    return found


def _volumes(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in service.get("mounts", []) if m.get("type", "volume") == "volume"]


def _volume_backup(world: World, backup_id: str) -> dict[str, Any]:
    found = world.state.volume_backups.get(backup_id)
    if found is None:
        raise EmulatorError("Backup not found")
    return found


def _volume_checked(world: World, body: VolumeBackupInput) -> dict[str, Any]:
    service = _app(world, body.project_name, body.service_name)
    if body.volume_name not in {m["name"] for m in _volumes(service)}:
        raise EmulatorError("Volume not found")
    _provider(world, body.storage_provider_id)
    fields = body.wire()
    fields.pop("id", None)
    return fields


@procedure("volumeBackups.listVolumeMounts", ServiceRef)
def list_volume_mounts(world: World, body: ServiceRef) -> Any:
    return _volumes(_app(world, body.project_name, body.service_name))


@procedure("volumeBackups.listVolumeBackups", ServiceRef)
def list_volume_backups(world: World, body: ServiceRef) -> Any:
    _app(world, body.project_name, body.service_name)
    return [
        public(b)
        for b in world.state.volume_backups.values()
        if (b["projectName"], b["serviceName"]) == (body.project_name, body.service_name)
    ]


@procedure("volumeBackups.createVolumeBackup", VolumeBackupInput, void=True)
def create_volume_backup(world: World, body: VolumeBackupInput) -> None:
    backup = {"id": new_id(), **_volume_checked(world, body), "createdAt": world.now_iso()}
    world.state.volume_backups[backup["id"]] = backup


@procedure("volumeBackups.updateVolumeBackup", UpdateVolumeBackupInput, void=True)
def update_volume_backup(world: World, body: UpdateVolumeBackupInput) -> None:
    _volume_backup(world, body.id).update(_volume_checked(world, body))


@procedure("volumeBackups.destroyVolumeBackup", IdInput, void=True)
def destroy_volume_backup(world: World, body: IdInput) -> None:
    _volume_backup(world, body.id)
    del world.state.volume_backups[body.id]


@procedure("volumeBackups.runVolumeBackup", IdInput, void=True)
def run_volume_backup(world: World, body: IdInput) -> None:
    run_volume(world, _volume_backup(world, body.id), by_api=True)


def run_volume(world: World, backup: dict[str, Any], *, by_api: bool) -> dict[str, Any]:
    """A volume backup run (asked for, or due by its schedule): the volume's `_volumes` entry."""
    service = _app(world, backup["projectName"], backup["serviceName"])
    content = str(service.get("_volumes", {}).get(backup["volumeName"], ""))
    meta = {"volumeName": backup["volumeName"]}
    return _upload(world, "volumeBackup", backup, content, meta, suffix=".tar.gz", by_api=by_api)
