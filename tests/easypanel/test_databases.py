"""services.{postgres,mysql,mariadb,mongo,redis}.*: databases run with enable/disable only."""

from __future__ import annotations

import re

import pytest

from skypanel.easypanel import (
    DATABASE_TYPES,
    DatabaseType,
    EasypanelClient,
    EasypanelError,
    EasypanelProcedureNotFound,
    EasypanelUnavailable,
    EasypanelValidationError,
)
from skypanel.easypanel.schemas import (
    DATABASE_SPECS,
    MysqlSpec,
    PostgresSpec,
    Resources,
    ResourcesPatch,
)
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import DEPLOY_DELAY, bodies

REF = {"projectName": "acme", "serviceName": "db"}
GENERATED = re.compile(r"^[a-z0-9]{20}$")


@pytest.fixture(params=DATABASE_TYPES)
def kind(request: pytest.FixtureRequest) -> DatabaseType:
    value: DatabaseType = request.param
    return value


async def _database(client: EasypanelClient, kind: DatabaseType) -> None:
    await client.create_project("acme")
    await client.create_database("acme", DATABASE_SPECS[kind](service_name="db"))


async def test_create_generates_passwords(
    client: EasypanelClient, emulator: RunningEmulator, kind: DatabaseType
) -> None:
    await _database(client, kind)
    inspected = await client.inspect_database(kind, "acme", "db")

    assert bodies(emulator, f"services.{kind}.createService") == [REF]
    assert inspected.type == kind
    assert inspected.name == "db"
    assert inspected.password
    assert GENERATED.match(inspected.password)
    if kind in ("mysql", "mariadb"):
        assert inspected.root_password
        assert GENERATED.match(inspected.root_password)
    else:
        assert inspected.root_password is None
    assert bodies(emulator, f"services.{kind}.inspectService") == [REF]


async def test_create_with_explicit_fields(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    spec = PostgresSpec(
        service_name="db",
        image="postgres:16",
        password="chosen-password",
        database_name="shop",
        user="shop_owner",
        resources=Resources(
            cpu_limit=1, cpu_reservation=0, memory_limit=1024, memory_reservation=0
        ),
    )

    created = await client.create_database("acme", spec)

    assert bodies(emulator, "services.postgres.createService") == [
        {
            **REF,
            "image": "postgres:16",
            "password": "chosen-password",
            "resources": {
                "cpuLimit": 1,
                "cpuReservation": 0,
                "memoryLimit": 1024,
                "memoryReservation": 0,
            },
            "databaseName": "shop",
            "user": "shop_owner",
        }
    ]
    assert (created.image, created.password, created.database_name, created.user) == (
        "postgres:16",
        "chosen-password",
        "shop",
        "shop_owner",
    )


async def test_enable_disable_destroy(
    client: EasypanelClient, emulator: RunningEmulator, kind: DatabaseType
) -> None:
    await _database(client, kind)
    emulator.controller.advance(DEPLOY_DELAY)
    running = emulator.controller.tasks("acme", "db")

    await client.disable_database(kind, "acme", "db")
    disabled = (await client.inspect_database(kind, "acme", "db")).enabled
    stopped = emulator.controller.tasks("acme", "db")
    await client.enable_database(kind, "acme", "db")
    emulator.controller.advance(DEPLOY_DELAY)
    await client.destroy_database(kind, "acme", "db")

    assert running == (1, 1)
    assert disabled is False
    assert stopped == (0, 0)
    for verb in ("disableService", "enableService", "destroyService"):
        assert bodies(emulator, f"services.{kind}.{verb}") == [REF]
    assert emulator.controller.service("acme", "db") is None


async def test_resources_patch(
    client: EasypanelClient, emulator: RunningEmulator, kind: DatabaseType
) -> None:
    await _database(client, kind)

    await client.update_database_resources(kind, "acme", "db", ResourcesPatch(memory_limit=256))
    await client.update_database_resources(kind, "acme", "db", ResourcesPatch(cpu_limit=2))

    assert bodies(emulator, f"services.{kind}.updateResources") == [
        {
            **REF,
            "resources": {
                "cpuLimit": 0,
                "cpuReservation": 0,
                "memoryLimit": 256,
                "memoryReservation": 0,
            },
        },
        {
            **REF,
            "resources": {
                "cpuLimit": 2,
                "cpuReservation": 0,
                "memoryLimit": 256,
                "memoryReservation": 0,
            },
        },
    ]
    service = emulator.controller.service("acme", "db")
    assert service is not None
    assert service["resources"]["cpuLimit"] == 2


async def test_update_credentials(
    client: EasypanelClient, emulator: RunningEmulator, kind: DatabaseType
) -> None:
    await _database(client, kind)
    emulator.controller.advance(DEPLOY_DELAY)
    before = await client.inspect_database(kind, "acme", "db")

    await client.update_database_credentials(kind, "acme", "db", password="fresh-password")
    after = await client.inspect_database(kind, "acme", "db")

    expected = {**REF, "password": "fresh-password"}
    if kind in ("mysql", "mariadb"):
        expected["rootPassword"] = before.root_password
    assert bodies(emulator, f"services.{kind}.updateCredentials") == [expected]
    assert after.password == "fresh-password"
    assert after.root_password == before.root_password


async def test_mysql_root_password_is_sent_when_given(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.create_database("acme", MysqlSpec(service_name="db"))
    emulator.controller.advance(DEPLOY_DELAY)

    await client.update_database_credentials(
        "mysql", "acme", "db", password="p1-password", root_password="r1-password"
    )

    assert bodies(emulator, "services.mysql.updateCredentials") == [
        {**REF, "password": "p1-password", "rootPassword": "r1-password"}
    ]
    assert bodies(emulator, "services.mysql.inspectService") == []


async def test_credentials_need_a_running_database(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    """oRPC answers 400 "Invariant failed", tRPC a plain 500; a mutation is never retried."""
    await _database(client, "postgres")

    with pytest.raises(EasypanelError) as failure:
        await client.update_database_credentials("postgres", "acme", "db", password="x-password")

    expected = EasypanelValidationError if dialect == "orpc" else EasypanelUnavailable
    assert type(failure.value) is expected
    assert (
        failure.value.message == "Easypanel services.postgres.updateCredentials: Invariant failed"
    )
    assert len(emulator.controller.requests("services.postgres.updateCredentials")) == 1


@pytest.mark.parametrize("verb", ["deployService", "startService", "stopService", "restartService"])
async def test_databases_have_no_app_verbs(
    client: EasypanelClient, emulator: RunningEmulator, verb: str
) -> None:
    await _database(client, "redis")

    with pytest.raises(EasypanelProcedureNotFound) as missing:
        await client.call(f"services.redis.{verb}", REF)

    assert missing.value.code == "EASYPANEL_API_ERROR"
    assert missing.value.details["http_status"] == 404
    assert len(emulator.controller.requests(f"services.redis.{verb}")) == 1
