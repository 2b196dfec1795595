"""domains.*, certificates.*, ports.*, mounts.*, settings service domain and database exposure.

Inputs follow the 2.32.2 schemas (contract §2.7, §2.11, §3.4); 2.23.0 takes the same bodies.
`setServiceDomain` exists from 2.31 on: older servers answer it with "procedure not found".
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from skypanel.easypanel._base import ClientBase, parse_list
from skypanel.easypanel._procedures import DatabaseType
from skypanel.easypanel.schemas import (
    AbsolutePath,
    IdInput,
    Input,
    Mount,
    NonEmpty,
    Output,
    PortSpec,
    ServiceRef,
)

LETS_ENCRYPT = "letsencrypt"
Host = Annotated[str, StringConstraints(pattern=r"^[^\s*]+$")]


class ServiceDestination(Input):
    protocol: Literal["http", "https"] = "http"
    port: int = Field(ge=1)
    path: AbsolutePath = "/"
    project_name: str
    service_name: str
    compose_service: str = ""


class DomainRecord(Input):
    """A `domains.*` record: every field required on create and update (no partial updates);
    `id` is required but ignored on create (the server mints a cuid)."""

    id: str
    host: NonEmpty
    https: bool
    path: NonEmpty
    middlewares: list[str]
    certificate_resolver: str
    wildcard: bool
    destination_type: Literal["service"] = "service"
    service_destination: ServiceDestination


class Domain(Output):
    id: str
    host: str
    https: bool = True
    path: str = "/"
    certificate_resolver: str = ""
    wildcard: bool = False
    service_destination: dict[str, Any] | None = None


class ListDomainsInput(Input):
    project_name: str | None = None
    service_name: str | None = None


class Certificate(Output):
    domain: dict[str, Any]

    @property
    def main(self) -> str:
        return str(self.domain.get("main", ""))


class RemoveCertificateInput(Input):
    domain: str


class PortInput(ServiceRef):
    values: PortSpec


class IndexInput(ServiceRef):
    index: int = Field(ge=0)


class UpdatePortInput(IndexInput):
    values: PortSpec


class MountInput(ServiceRef):
    values: Mount


class UpdateMountInput(IndexInput):
    values: Mount


class ExposeInput(ServiceRef):
    exposed_port: int = Field(ge=0, le=65535)


class ServiceDomainInput(Input):
    """`null` or `""` go back to Easypanel's own `<instance>.easypanel.host`."""

    nullable: ClassVar[frozenset[str]] = frozenset({"customServiceDomain"})
    custom_service_domain: Host | Literal[""] | None


class Port(Output):
    published: int
    target: int
    protocol: str = "tcp"


class NetworkMixin(ClientBase):
    async def list_domains(
        self, project: str | None = None, service: str | None = None
    ) -> list[Domain]:
        body = ListDomainsInput(project_name=project, service_name=service)
        return parse_list(Domain, await self._send("domains.listDomains", body), "listDomains")

    async def create_domain(self, record: DomainRecord) -> Domain:
        """Create a domain; the answer is not typed, so the record is found again by host."""
        await self._send("domains.createDomain", record)
        destination = record.service_destination
        for found in await self.list_domains(destination.project_name, destination.service_name):
            if found.host == record.host and found.path == record.path:
                return found
        return Domain(id=record.id, host=record.host, https=record.https, path=record.path)

    async def update_domain(self, record: DomainRecord) -> None:
        await self._send("domains.updateDomain", record)

    async def delete_domain(self, domain_id: str) -> None:
        await self._send("domains.deleteDomain", IdInput(id=domain_id))

    async def set_primary_domain(self, domain_id: str) -> None:
        await self._send("domains.setPrimaryDomain", IdInput(id=domain_id))

    async def get_primary_domain(self, project: str, service: str) -> Domain | None:
        body = ServiceRef(project_name=project, service_name=service)
        found = await self._send("domains.getPrimaryDomain", body)
        return None if not isinstance(found, dict) else Domain.model_validate(found)

    async def list_certificates(self) -> list[Certificate]:
        payload = await self._send("certificates.listCertificates")
        return parse_list(Certificate, payload, "certificates.listCertificates")

    async def remove_certificate(self, host: str) -> None:
        await self._send("certificates.removeCertificate", RemoveCertificateInput(domain=host))

    async def list_ports(self, project: str, service: str) -> list[Port]:
        body = ServiceRef(project_name=project, service_name=service)
        return parse_list(Port, await self._send("ports.listPorts", body), "ports.listPorts")

    async def create_port(self, project: str, service: str, port: PortSpec) -> None:
        body = PortInput(project_name=project, service_name=service, values=port)
        await self._send("ports.createPort", body)

    async def update_port(self, project: str, service: str, index: int, port: PortSpec) -> None:
        body = UpdatePortInput(project_name=project, service_name=service, index=index, values=port)
        await self._send("ports.updatePort", body)

    async def delete_port(self, project: str, service: str, index: int) -> None:
        body = IndexInput(project_name=project, service_name=service, index=index)
        await self._send("ports.deletePort", body)

    async def list_mounts(self, project: str, service: str) -> list[dict[str, Any]]:
        body = ServiceRef(project_name=project, service_name=service)
        found = await self._send("mounts.listMounts", body)
        return [dict(m) for m in found] if isinstance(found, list) else []

    async def create_mount(self, project: str, service: str, mount: Mount) -> None:
        body = MountInput(project_name=project, service_name=service, values=mount)
        await self._send("mounts.createMount", body)

    async def update_mount(self, project: str, service: str, index: int, mount: Mount) -> None:
        body = UpdateMountInput(
            project_name=project, service_name=service, index=index, values=mount
        )
        await self._send("mounts.updateMount", body)

    async def delete_mount(self, project: str, service: str, index: int) -> None:
        body = IndexInput(project_name=project, service_name=service, index=index)
        await self._send("mounts.deleteMount", body)

    async def expose_database(
        self, kind: DatabaseType, project: str, service: str, port: int
    ) -> None:
        """Publish the database on host port `port`; 0 stops publishing it."""
        body = ExposeInput(project_name=project, service_name=service, exposed_port=port)
        await self._send(f"services.{kind}.exposeService", body)

    async def get_service_domain(self) -> str | None:
        found = await self._send("settings.getServiceDomain")
        return found if isinstance(found, str) and found else None

    async def set_service_domain(self, domain: str | None) -> None:
        await self._send(
            "settings.setServiceDomain", ServiceDomainInput(custom_service_domain=domain)
        )

    async def get_server_ip(self) -> str:
        return str(await self._send("settings.getServerIp"))
