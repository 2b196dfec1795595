"""domains.*, certificates.*, ports.*, mounts.*, settings service domain, database exposure."""

from __future__ import annotations

import pytest

from skypanel.easypanel import (
    DATABASE_TYPES,
    DatabaseType,
    EasypanelClient,
    EasypanelError,
    EasypanelProcedureNotFound,
)
from skypanel.easypanel._network import LETS_ENCRYPT, DomainRecord, ServiceDestination
from skypanel.easypanel.schemas import (
    DATABASE_SPECS,
    AppSpec,
    DomainSpec,
    FileMount,
    ImageSource,
    PortSpec,
    PostgresSpec,
    RedisSpec,
    VolumeMount,
)
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import DEPLOY_DELAY, bodies

REF = {"projectName": "acme", "serviceName": "web"}


async def _app(client: EasypanelClient) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web"))


def _record(host: str, domain_id: str = "") -> DomainRecord:
    return DomainRecord(
        id=domain_id,
        host=host,
        https=True,
        path="/",
        middlewares=[],
        certificate_resolver=LETS_ENCRYPT,
        wildcard=False,
        service_destination=ServiceDestination(port=8080, project_name="acme", service_name="web"),
    )


async def test_a_domain_gets_its_certificate_after_the_delay_and_loses_it_when_deleted(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)

    created = await client.create_domain(_record("www.example.com"))

    assert created.host == "www.example.com"
    assert created.id.startswith("c")
    assert len(created.id) == 25
    assert bodies(emulator, "domains.createDomain")[0]["serviceDestination"] == {
        "protocol": "http",
        "port": 8080,
        "path": "/",
        "projectName": "acme",
        "serviceName": "web",
        "composeService": "",
    }
    assert await client.list_certificates() == []
    emulator.controller.advance(DEPLOY_DELAY + 1)
    assert [c.main for c in await client.list_certificates()] == ["www.example.com"]

    await client.update_domain(
        _record("www.example.com", created.id).model_copy(update={"path": "/app"})
    )
    assert [(d.id, d.path) for d in await client.list_domains("acme", "web")] == [
        (created.id, "/app")
    ]
    await client.set_primary_domain(created.id)
    primary = await client.get_primary_domain("acme", "web")
    assert primary is not None
    assert primary.id == created.id
    assert [d.host for d in await client.list_domains()] == ["www.example.com"]

    await client.delete_domain(created.id)

    assert await client.list_domains("acme", "web") == []
    assert await client.list_certificates() == []
    assert await client.get_primary_domain("acme", "web") is None


async def test_a_certificate_can_be_removed_by_hand(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)
    await client.create_domain(_record("api.example.com"))
    emulator.controller.advance(DEPLOY_DELAY + 1)

    await client.remove_certificate("api.example.com")

    assert bodies(emulator, "certificates.removeCertificate") == [{"domain": "api.example.com"}]
    assert await client.list_certificates() == []


async def test_a_database_takes_no_domain(client: EasypanelClient) -> None:
    await client.create_project("acme")
    await client.create_database("acme", PostgresSpec(service_name="web"))

    with pytest.raises(EasypanelError, match=r"Wrong service type\."):
        await client.create_domain(_record("db.example.com"))


async def test_ports_by_index(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await _app(client)

    await client.create_port("acme", "web", PortSpec(published=30001, target=22))
    await client.create_port("acme", "web", PortSpec(published=30002, target=53, protocol="udp"))
    await client.update_port("acme", "web", 0, PortSpec(published=30003, target=2222))
    listed = await client.list_ports("acme", "web")
    await client.delete_port("acme", "web", 1)

    assert bodies(emulator, "ports.createPort")[0] == {
        **REF,
        "values": {"published": 30001, "target": 22, "protocol": "tcp"},
    }
    assert [(p.published, p.target, p.protocol) for p in listed] == [
        (30003, 2222, "tcp"),
        (30002, 53, "udp"),
    ]
    assert [p.published for p in await client.list_ports("acme", "web")] == [30003]
    with pytest.raises(EasypanelError, match="already in use"):
        await client.create_port("acme", "web", PortSpec(published=30003, target=1))


async def test_mounts_by_index(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await _app(client)

    await client.create_mount("acme", "web", VolumeMount(name="data", mount_path="/data"))
    await client.create_mount("acme", "web", FileMount(content="x=1", mount_path="/etc/x"))
    await client.update_mount("acme", "web", 0, VolumeMount(name="cache", mount_path="/cache"))
    await client.delete_mount("acme", "web", 1)

    assert await client.list_mounts("acme", "web") == [
        {"type": "volume", "name": "cache", "mountPath": "/cache"}
    ]
    assert bodies(emulator, "mounts.deleteMount") == [{**REF, "index": 1}]
    with pytest.raises(EasypanelError, match="Invariant failed"):
        await client.delete_mount("acme", "web", 5)


@pytest.mark.parametrize("kind", DATABASE_TYPES)
async def test_expose_a_database(
    client: EasypanelClient, emulator: RunningEmulator, kind: DatabaseType
) -> None:
    await client.create_project("acme")
    await client.create_database("acme", DATABASE_SPECS[kind](service_name="db"))

    await client.expose_database(kind, "acme", "db", 31000)
    exposed = await client.inspect_database(kind, "acme", "db")
    await client.expose_database(kind, "acme", "db", 0)

    assert bodies(emulator, f"services.{kind}.exposeService")[0] == {
        "projectName": "acme",
        "serviceName": "db",
        "exposedPort": 31000,
    }
    assert exposed.model_dump(by_alias=True)["exposedPort"] == 31000
    assert (await client.inspect_database(kind, "acme", "db")).model_dump(by_alias=True)[
        "exposedPort"
    ] == 0


async def test_service_domain_and_server_ip(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    assert await client.get_server_ip() == "127.0.0.1"
    if dialect == "trpc":
        with pytest.raises(EasypanelProcedureNotFound):
            await client.set_service_domain("apps.example.com")
        with pytest.raises(EasypanelProcedureNotFound):
            await client.get_service_domain()
        return

    await client.set_service_domain("apps.example.com")
    assert await client.get_service_domain() == "apps.example.com"
    await client.create_project("acme")
    spec = AppSpec(
        service_name="web",
        source=ImageSource(image="nginx"),
        domains=[DomainSpec(host="$(EASYPANEL_DOMAIN)", port=80)],
    )
    generated = (await client.create_app("acme", spec)).domains[0]["host"]
    await client.set_service_domain(None)

    assert bodies(emulator, "settings.setServiceDomain") == [
        {"customServiceDomain": "apps.example.com"},
        {"customServiceDomain": None},
    ]
    assert (await client.get_service_domain() or "").endswith(".easypanel.host")
    assert generated == "acme-web.apps.example.com"  # apps' default hosts follow the setting


async def test_ports_are_for_apps_only(client: EasypanelClient) -> None:
    await client.create_project("acme")
    await client.create_database("acme", RedisSpec(service_name="web"))

    with pytest.raises(EasypanelError, match="Invalid service type"):
        await client.list_ports("acme", "web")
