"""The emulator's backup procedures on the wire, in both dialects, with the dumps' rules."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from skypanel.easypanel._procedures import Dialect, is_query, orpc_path, trpc_path
from skypanel.emulator import RunningEmulator, running_emulators
from tests.backups.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[Dialect, RunningEmulator]]:
    with running_emulators(manual_clock=True, deploy_delay=1.0) as running:
        yield running


@pytest.fixture(params=["orpc", "trpc"])
def emulator(
    request: pytest.FixtureRequest, emulators: dict[Dialect, RunningEmulator]
) -> Iterator[RunningEmulator]:
    running = emulators[request.param]
    running.controller.reset()
    yield running
    running.controller.reset()


@pytest.fixture
async def http(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers, timeout=5) as client:
        yield client


async def _send(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str, data: Any = None
) -> httpx.Response:
    if emulator.dialect == "orpc":
        return await http.post(orpc_path(procedure), json={"json": data})
    if is_query(procedure):
        return await http.get(trpc_path(procedure), params={"input": json.dumps({"json": data})})
    return await http.post(trpc_path(procedure), json={"json": data})


async def _call(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str, data: Any = None
) -> Any:
    response = await _send(http, emulator, procedure, data)
    body = response.json()
    assert response.status_code == 200, body
    return body.get("json") if emulator.dialect == "orpc" else body["result"]["data"]["json"]


def _error(response: httpx.Response) -> str:
    body = response.json()
    assert response.status_code in (400, 500), body
    found = body.get("json", body).get("message") or body["error"]["json"]["message"]
    return str(found)


REF = {"projectName": "acme", "serviceName": "db"}


async def _provider(http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server) -> str:
    created = await _call(
        http,
        emulator,
        "storageProviders.s3.createProvider",
        {
            "subtype": "other",
            "name": "backups",
            "accessKeyId": ACCESS_KEY,
            "secretAccessKey": SECRET_KEY,
            "bucket": s3.bucket("emulated"),
            "region": REGION,
            "endpoint": s3.endpoint,
        },
    )
    return str(created["id"])


async def _postgres(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await _call(http, emulator, "projects.createProject", {"name": "acme"})
    await _call(http, emulator, "services.postgres.createService", REF)
    emulator.controller.advance(2)


def _backup(provider: str, **extra: Any) -> dict[str, Any]:
    return {
        **REF,
        "databaseName": "acme",
        "enabled": False,
        "schedule": "0 3 * * *",
        "storageProviderId": provider,
        "storageProviderPath": "orgs/o1/acme/db",
        **extra,
    }


async def test_backup_configurations_run_delete_and_the_data_control_route(
    http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _postgres(http, emulator)
    provider = await _provider(http, emulator, s3)
    assert await _call(http, emulator, "storageProviders.common.list") == [
        {"id": provider, "name": "backups", "type": "s3", "path": "emulated"}
    ]
    assert await _call(http, emulator, "databaseBackups.getServiceDatabases", REF) == ["acme"]
    set_data = await http.post(
        "/__emulator/data", json={"project": "acme", "service": "db", "data": "rows"}
    )
    assert set_data.json() == {"data": "rows"}
    await _call(http, emulator, "databaseBackups.createDatabaseBackup", _backup(provider))
    [backup] = await _call(http, emulator, "databaseBackups.listDatabaseBackups", REF)

    await _call(http, emulator, "databaseBackups.runDatabaseBackup", {"id": backup["id"]})

    [action] = await _call(http, emulator, "actions.listActions", {**REF, "type": "backup"})
    assert action["status"] == "done"
    assert set(action["meta"]) == {"databaseName", "path", "storageProviderId"}
    stored = s3.client().get_object(Bucket="emulated", Key=action["meta"]["path"])
    assert gzip.decompress(stored["Body"].read()) == b"rows"
    await _call(http, emulator, "databaseBackups.deleteDatabaseBackup", {"id": backup["id"]})
    assert await _call(http, emulator, "databaseBackups.listDatabaseBackups", REF) == []
    await _call(http, emulator, "storageProviders.s3.deleteProvider", {"id": provider})
    assert await _call(http, emulator, "storageProviders.common.list") == []
    shown = await http.get("/__emulator/data", params={"project": "acme", "service": "db"})
    assert shown.json() == {"data": "rows"}


async def test_the_dumps_rules_are_enforced(
    http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _postgres(http, emulator)
    provider = await _provider(http, emulator, s3)
    bad_name = await _send(
        http,
        emulator,
        "databaseBackups.createDatabaseBackup",
        _backup(provider, databaseName="1-starts-with-a-digit"),
    )
    assert bad_name.status_code == 400
    assert "databaseName" in bad_name.text
    await _call(
        http, emulator, "databaseBackups.createDatabaseBackup", _backup(provider, retention=3)
    )
    [saved] = await _call(http, emulator, "databaseBackups.listDatabaseBackups", REF)
    assert saved.get("retention") == (3 if emulator.dialect == "orpc" else None)
    unknown = await _send(
        http, emulator, "databaseBackups.createDatabaseBackup", _backup("no-such-provider")
    )
    assert _error(unknown) == "Storage provider not found"


async def test_a_stopped_database_or_redis_cannot_be_backed_up(
    http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _postgres(http, emulator)
    provider = await _provider(http, emulator, s3)
    await _call(http, emulator, "databaseBackups.createDatabaseBackup", _backup(provider))
    [backup] = await _call(http, emulator, "databaseBackups.listDatabaseBackups", REF)
    await _call(http, emulator, "services.postgres.disableService", REF)

    stopped = await _send(http, emulator, "databaseBackups.runDatabaseBackup", {"id": backup["id"]})

    assert _error(stopped) == "Invariant failed"
    await _call(http, emulator, "services.redis.createService", {**REF, "serviceName": "cache"})
    redis = await _send(
        http, emulator, "databaseBackups.listDatabaseBackups", {**REF, "serviceName": "cache"}
    )
    assert _error(redis) == "Service is not supported"


async def test_volume_backups_of_an_apps_volume_land_in_the_bucket(
    http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _call(http, emulator, "projects.createProject", {"name": "acme"})
    mount = {"type": "volume", "name": "data", "mountPath": "/data"}
    app = {"projectName": "acme", "serviceName": "web", "mounts": [mount]}
    await _call(http, emulator, "services.app.createService", app)
    emulator.controller.edit_service("acme", "web", {"_volumes": {"data": "uploads"}})
    provider = await _provider(http, emulator, s3)
    web = {"projectName": "acme", "serviceName": "web"}
    assert await _call(http, emulator, "volumeBackups.listVolumeMounts", web) == [mount]
    config = {
        **web,
        "volumeName": "data",
        "enabled": True,
        "schedule": "0 4 * * *",
        "storageProviderId": provider,
        "storageProviderPath": "orgs/o1/acme/web",
    }
    missing = await _send(
        http, emulator, "volumeBackups.createVolumeBackup", {**config, "volumeName": "nope"}
    )
    assert _error(missing) == "Volume not found"
    await _call(http, emulator, "volumeBackups.createVolumeBackup", config)
    [backup] = await _call(http, emulator, "volumeBackups.listVolumeBackups", web)
    await _call(
        http,
        emulator,
        "volumeBackups.updateVolumeBackup",
        {**config, "id": backup["id"], "schedule": "0 5 * * *"},
    )

    await _call(http, emulator, "volumeBackups.runVolumeBackup", {"id": backup["id"]})

    [action] = await _call(http, emulator, "actions.listActions", {**web, "type": "volumeBackup"})
    assert action["status"] == "done"
    assert action["meta"]["volumeName"] == "data"
    key = action["meta"]["path"]
    assert key.startswith("orgs/o1/acme/web/")
    assert key.endswith(".tar.gz")
    stored = s3.client().get_object(Bucket="emulated", Key=key)["Body"].read()
    assert gzip.decompress(stored) == b"uploads"
    [listed] = await _call(http, emulator, "volumeBackups.listVolumeBackups", web)
    assert listed["schedule"] == "0 5 * * *"
    await _call(http, emulator, "volumeBackups.destroyVolumeBackup", {"id": backup["id"]})
    assert await _call(http, emulator, "volumeBackups.listVolumeBackups", web) == []
    await _call(http, emulator, "services.postgres.createService", REF)
    on_database = await _send(http, emulator, "volumeBackups.listVolumeMounts", REF)
    assert _error(on_database) == "Invalid service type"


async def test_destroying_a_database_drops_its_backup_configurations(
    http: httpx.AsyncClient, emulator: RunningEmulator, s3: S3Server
) -> None:
    await _postgres(http, emulator)
    provider = await _provider(http, emulator, s3)
    await _call(http, emulator, "databaseBackups.createDatabaseBackup", _backup(provider))

    await _call(http, emulator, "services.postgres.destroyService", REF)
    await _call(http, emulator, "services.postgres.createService", REF)

    assert await _call(http, emulator, "databaseBackups.listDatabaseBackups", REF) == []
