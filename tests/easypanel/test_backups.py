"""storageProviders.*, databaseBackups.*, volumeBackups.*: the client against the emulator and a
real S3 server."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.easypanel._backups import (
    DatabaseBackupInput,
    RestoreDatabaseBackupInput,
    S3ProviderInput,
    UpdateS3ProviderInput,
    VolumeBackupInput,
)
from skypanel.easypanel.schemas import (
    AppSpec,
    ImageSource,
    Mount,
    PostgresSpec,
    RedisSpec,
    VolumeMount,
)
from skypanel.emulator import RunningEmulator
from tests.backups.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server
from tests.easypanel._support import DEPLOY_DELAY, bodies


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _provider(s3: S3Server, bucket: str) -> S3ProviderInput:
    return S3ProviderInput(
        name="skypanel",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        bucket=bucket,
        region=REGION,
        endpoint=s3.endpoint,
    )


async def _running_postgres(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await client.create_project("acme")
    await client.create_database("acme", PostgresSpec(service_name="db"))
    emulator.controller.advance(DEPLOY_DELAY + 1)


def _schedule(provider_id: str, **changes: object) -> DatabaseBackupInput:
    fields: dict[str, object] = {
        "project_name": "acme",
        "service_name": "db",
        "database_name": "acme",
        "enabled": True,
        "schedule": "0 3 * * *",
        "storage_provider_id": provider_id,
        "storage_provider_path": "orgs/o1/acme/db",
        "retention": 7,
    }
    return DatabaseBackupInput.model_validate(fields | changes)


async def test_provider_backup_run_and_restore_through_the_bucket(
    client: EasypanelClient, emulator: RunningEmulator, s3: S3Server, dialect: str
) -> None:
    bucket = s3.bucket(f"client-{dialect}")
    await _running_postgres(client, emulator)
    emulator.controller.set_database_data("acme", "db", "INSERT INTO t VALUES (1);")

    provider = await client.create_s3_provider(_provider(s3, bucket))
    listed = await client.list_storage_providers()
    assert [(p.id, p.name, p.type) for p in listed] == [(provider.id, "skypanel", "s3")]
    await client.update_s3_provider(
        UpdateS3ProviderInput(
            id=provider.id, **_provider(s3, bucket).model_dump(exclude={"subtype"})
        )
    )

    saved = await client.save_database_backup(_schedule(provider.id))
    again = await client.save_database_backup(_schedule(provider.id, schedule="0 4 * * *"))
    assert again.id == saved.id
    assert [(b.schedule, b.enabled) for b in await client.list_database_backups("acme", "db")] == [
        ("0 4 * * *", True)
    ]
    sent = bodies(emulator, "databaseBackups.createDatabaseBackup")[0]
    assert ("retention" in sent) is (dialect == "orpc")

    action = await client.run_database_backup("acme", "db", saved.id)
    assert action is not None
    assert action.status == "done"
    assert action.meta is not None
    key = action.meta["path"]
    assert key.startswith("orgs/o1/acme/db/")
    assert key.endswith(".sql.gz")
    assert action.meta["storageProviderId"] == provider.id
    assert s3.keys(bucket) == [key]
    stored = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert gzip.decompress(stored) == b"INSERT INTO t VALUES (1);"
    assert [a.id for a in await client.backup_actions("acme", "db")] == [action.id]

    emulator.controller.set_database_data("acme", "db", "lost")
    await client.restore_database_backup(
        RestoreDatabaseBackupInput(
            project_name="acme",
            service_name="db",
            database_name="acme",
            path=key,
            storage_provider_id=provider.id,
        )
    )
    assert emulator.controller.database_data("acme", "db") == "INSERT INTO t VALUES (1);"


async def test_a_run_that_cannot_upload_is_an_error_action(
    client: EasypanelClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _running_postgres(client, emulator)
    provider = await client.create_s3_provider(_provider(s3, "no-such-bucket"))
    saved = await client.save_database_backup(_schedule(provider.id))

    action = await client.run_database_backup("acme", "db", saved.id)

    assert action is not None
    assert action.status == "error"
    assert s3.keys(s3.bucket("client-other")) == []


async def test_backups_of_redis_are_not_supported(
    client: EasypanelClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await client.create_project("acme")
    await client.create_database("acme", RedisSpec(service_name="db"))
    with pytest.raises(EasypanelError, match="Service is not supported"):
        await client.list_database_backups("acme", "db")


async def test_a_volume_backup_is_saved_once_and_its_run_lands_in_the_bucket(
    client: EasypanelClient, emulator: RunningEmulator, s3: S3Server, dialect: str
) -> None:
    bucket = s3.bucket(f"volumes-{dialect}")
    await client.create_project("acme")
    mounts: list[Mount] = [VolumeMount(name="data", mount_path="/data")]
    spec = AppSpec(service_name="web", source=ImageSource(image="nginx"), mounts=mounts)
    await client.create_app("acme", spec)
    emulator.controller.advance(DEPLOY_DELAY + 1)
    with emulator.controller.world.lock:
        emulator.controller.world.service("acme", "web")["_volumes"] = {"data": "files"}
    provider = await client.create_s3_provider(_provider(s3, bucket))
    body = VolumeBackupInput(
        project_name="acme",
        service_name="web",
        volume_name="data",
        enabled=True,
        schedule="0 3 * * *",
        storage_provider_id=provider.id,
        storage_provider_path="orgs/o1/acme/web/volumes/data",
    )

    saved = await client.save_volume_backup(body)
    again = await client.save_volume_backup(body.model_copy(update={"schedule": "0 5 * * *"}))
    action = await client.run_volume_backup("acme", "web", saved.id)

    assert again.id == saved.id
    assert [
        (b.volume_name, b.schedule) for b in await client.list_volume_backups("acme", "web")
    ] == [("data", "0 5 * * *")]
    assert bodies(emulator, "volumeBackups.updateVolumeBackup")[0]["id"] == saved.id
    assert action is not None
    assert action.meta is not None
    assert (action.status, action.meta["volumeName"]) == ("done", "data")
    [key] = s3.keys(bucket)
    assert key == action.meta["path"]
    assert key.startswith("orgs/o1/acme/web/volumes/data/")
    stored = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert gzip.decompress(stored) == b"files"
    assert await client.backup_actions("acme", "web") == []
    assert [a.id for a in await client.backup_actions("acme", "web", kind="volumeBackup")] == [
        action.id
    ]
