"""domains.*, certificates.*, ports.*, mounts.*, settings service domain and database exposure.

Domain records live in their service's `domains` list (where inline domains given to
createService already are). An https domain with the Let's Encrypt resolver gets its
certificate once the deploy delay has passed; deleting the domain removes the certificate.
`ports.*` and `mounts.*` accept only apps ("Invalid service type"), `createDomain` only web
services ("Wrong service type."), as the live server answers (contract §2.7).
"""

from __future__ import annotations

from typing import Any

from skypanel.easypanel import DATABASE_TYPES
from skypanel.easypanel._network import (
    LETS_ENCRYPT,
    DomainRecord,
    ExposeInput,
    IndexInput,
    ListDomainsInput,
    MountInput,
    PortInput,
    RemoveCertificateInput,
    ServiceDomainInput,
    UpdateMountInput,
    UpdatePortInput,
)
from skypanel.easypanel.schemas import IdInput, ServiceRef
from skypanel.emulator._registry import CURRENT, procedure
from skypanel.emulator._state import new_id
from skypanel.emulator._world import EmulatorError, World

SERVER_IP = "127.0.0.1"
_WEB_TYPES = frozenset({"app", "compose", "box", "wordpress"})


def _domains(world: World) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (service, domain record) pair on the server."""
    return [(s, d) for s in world.state.services.values() for d in s.get("domains", [])]


def _find(world: World, domain_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for service, record in _domains(world):
        if record["id"] == domain_id:
            return service, record
    raise EmulatorError("Domain not found")


def _record(world: World, body: DomainRecord, domain_id: str) -> dict[str, Any]:
    destination = body.service_destination
    service = world.service(destination.project_name, destination.service_name)
    if service["type"] not in _WEB_TYPES:
        raise EmulatorError("Wrong service type.")
    record = body.model_dump(mode="json") | {"id": domain_id}
    if record["https"] and record["certificateResolver"] == LETS_ENCRYPT:
        world.state.certificates.setdefault(
            record["host"], world.clock.now() + world.settings.deploy_delay
        )
    return record


def _app(world: World, body: ServiceRef) -> dict[str, Any]:
    service = world.service(body.project_name, body.service_name)
    if service["type"] != "app":
        raise EmulatorError("Invalid service type")
    return service


def _at(items: list[Any], index: int) -> int:
    if not 0 <= index < len(items):
        raise EmulatorError("Invariant failed")
    return index


def _published(
    world: World, port: int, protocol: str, *, besides: dict[str, Any] | None = None
) -> None:
    """Swarm refuses a host port another service already publishes."""
    for service in world.state.services.values():
        taken = [(p["published"], p.get("protocol", "tcp")) for p in service.get("ports", [])]
        if service.get("exposedPort"):
            taken.append((service["exposedPort"], "tcp"))
        if service is not besides and (port, protocol) in taken:
            raise EmulatorError(f"port '{port}' is already in use by service '{service['name']}'")


@procedure("domains.listDomains", ListDomainsInput)
def list_domains(world: World, body: ListDomainsInput) -> Any:
    return [
        dict(record)
        for service, record in _domains(world)
        if body.project_name in (None, service["projectName"])
        and body.service_name in (None, service["name"])
    ]


@procedure("domains.createDomain", DomainRecord)
def create_domain(world: World, body: DomainRecord) -> Any:
    destination = body.service_destination
    record = _record(world, body, new_id())
    service = world.service(destination.project_name, destination.service_name)
    service["domains"] = [*service.get("domains", []), record]
    return dict(record)


@procedure("domains.updateDomain", DomainRecord, void=True)
def update_domain(world: World, body: DomainRecord) -> None:
    service, old = _find(world, body.id)
    record = _record(world, body, body.id)
    service["domains"] = [record if d is old else d for d in service["domains"]]


@procedure("domains.deleteDomain", IdInput, void=True)
def delete_domain(world: World, body: IdInput) -> None:
    service, record = _find(world, body.id)
    service["domains"] = [d for d in service["domains"] if d is not record]
    if service.get("primaryDomainId") == body.id:
        service.pop("primaryDomainId")
    if not any(d["host"] == record["host"] for _, d in _domains(world)):
        world.state.certificates.pop(record["host"], None)


@procedure("domains.setPrimaryDomain", IdInput, void=True)
def set_primary_domain(world: World, body: IdInput) -> None:
    service, _ = _find(world, body.id)
    service["primaryDomainId"] = body.id


@procedure("domains.getPrimaryDomain", ServiceRef)
def get_primary_domain(world: World, body: ServiceRef) -> Any:
    service = world.service(body.project_name, body.service_name)
    domains = service.get("domains", [])
    primary = [d for d in domains if d["id"] == service.get("primaryDomainId")] or domains[:1]
    return dict(primary[0]) if primary else None


@procedure("certificates.listCertificates")
def list_certificates(world: World, _: None) -> Any:
    now = world.clock.now()
    issued = sorted(host for host, at in world.state.certificates.items() if at <= now)
    return [{"domain": {"main": host}} for host in issued]


@procedure("certificates.removeCertificate", RemoveCertificateInput, void=True)
def remove_certificate(world: World, body: RemoveCertificateInput) -> None:
    world.state.certificates.pop(body.domain, None)


@procedure("ports.listPorts", ServiceRef)
def list_ports(world: World, body: ServiceRef) -> Any:
    return [dict(p) for p in _app(world, body).get("ports", [])]


@procedure("ports.createPort", PortInput, void=True)
def create_port(world: World, body: PortInput) -> None:
    service = _app(world, body)
    _published(world, body.values.published, body.values.protocol)
    service["ports"] = [*service.get("ports", []), body.values.model_dump(mode="json")]


@procedure("ports.updatePort", UpdatePortInput, void=True)
def update_port(world: World, body: UpdatePortInput) -> None:
    service = _app(world, body)
    ports = list(service.get("ports", []))
    ports[_at(ports, body.index)] = body.values.model_dump(mode="json")
    service["ports"] = ports


@procedure("ports.deletePort", IndexInput, void=True)
def delete_port(world: World, body: IndexInput) -> None:
    service = _app(world, body)
    ports = list(service.get("ports", []))
    del ports[_at(ports, body.index)]
    service["ports"] = ports


@procedure("ports.deleteAllPorts", ServiceRef, void=True)
def delete_all_ports(world: World, body: ServiceRef) -> None:
    _app(world, body)["ports"] = []


@procedure("mounts.listMounts", ServiceRef)
def list_mounts(world: World, body: ServiceRef) -> Any:
    return [dict(m) for m in _app(world, body).get("mounts", [])]


@procedure("mounts.createMount", MountInput, void=True)
def create_mount(world: World, body: MountInput) -> None:
    service = _app(world, body)
    service["mounts"] = [*service.get("mounts", []), body.values.model_dump(mode="json")]


@procedure("mounts.updateMount", UpdateMountInput, void=True)
def update_mount(world: World, body: UpdateMountInput) -> None:
    service = _app(world, body)
    mounts = list(service.get("mounts", []))
    mounts[_at(mounts, body.index)] = body.values.model_dump(mode="json")
    service["mounts"] = mounts


@procedure("mounts.deleteMount", IndexInput, void=True)
def delete_mount(world: World, body: IndexInput) -> None:
    service = _app(world, body)
    mounts = list(service.get("mounts", []))
    del mounts[_at(mounts, body.index)]
    service["mounts"] = mounts


@procedure("settings.getServiceDomain", eras=CURRENT)
def get_service_domain(world: World, _: None) -> Any:
    return world.service_domain


@procedure("settings.setServiceDomain", ServiceDomainInput, eras=CURRENT, void=True)
def set_service_domain(world: World, body: ServiceDomainInput) -> None:
    world.state.service_domain = body.custom_service_domain or None


@procedure("settings.getServerIp")
def get_server_ip(world: World, _: None) -> Any:
    return SERVER_IP


def _register_expose(kind: str) -> None:
    @procedure(f"services.{kind}.exposeService", ExposeInput, void=True)
    def expose(world: World, body: ExposeInput) -> None:
        service = world.service(body.project_name, body.service_name, kind)
        if body.exposed_port:
            _published(world, body.exposed_port, "tcp", besides=service)
        service["exposedPort"] = body.exposed_port


for _kind in DATABASE_TYPES:
    _register_expose(_kind)
