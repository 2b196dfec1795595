from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Depends, Request, status

from skypanel.accounts.auth import AdminUser, verified_user
from skypanel.domains import ports as port_service
from skypanel.domains import service
from skypanel.domains.dns import check_txt
from skypanel.domains.schemas import (
    CertificateState,
    DnsRecord,
    DomainCreatedOut,
    DomainOut,
    ExternalAccessIn,
    ExternalAccessOut,
    PortOut,
    ServiceDomainIn,
    ServiceDomainOut,
)
from skypanel.easypanel import EasypanelError
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.kit.uow import release
from skypanel.models import ContainerProject, ContainerService, EasypanelOperation, ServicePort
from skypanel.models import ServiceDomain as DomainRow
from skypanel.operations.service import operation_ref
from skypanel.organizations.auth import CurrentOrg
from skypanel.services import service as services
from skypanel.services.schemas import DomainIn, PortIn

router = APIRouter(
    prefix="/api/containers/projects/{project_name}/services/{service_name}", tags=["domains"]
)
admin_router = APIRouter(prefix="/api/admin/service-domain", tags=["admin"])


def domain_view(
    row: DomainRow,
    certificate: CertificateState = "unknown",
    operation: EasypanelOperation | None = None,
) -> DomainOut:
    return DomainOut(
        id=row.id,
        host=row.host,
        path=row.path,
        port=row.port,
        https=row.https,
        primary=row.is_primary,
        status=row.status,  # type: ignore[arg-type]
        certificate=certificate if row.https else "none",
        checked_at=row.checked_at,
        verified_at=row.verified_at,
        last_error=row.last_error,
        url=service.url_of(row),
        verification=DnsRecord.model_validate(service.verification_record(row))
        if row.token and row.status in ("pending_verification", "failed")
        else None,
        operation=None if operation is None else operation_ref(operation),
    )


def port_view(row: ServicePort, operation: EasypanelOperation | None = None) -> PortOut:
    return PortOut(
        id=row.id,
        published=row.port,
        target=row.target,
        protocol=row.protocol,
        operation=None if operation is None else operation_ref(operation),
    )


async def _targets(
    session: Session, project: ContainerProject, item: ContainerService
) -> list[DnsRecord]:
    """Where the customer points the host: the app's default host, or the server itself."""
    domain = await service.service_domain(session)
    server = await port_service.public_host(session, project)
    found = []
    if domain:
        value = service.default_host(project, item, domain)
        found.append(DnsRecord(type="CNAME", name="", value=value))
    if server:
        try:
            ipaddress.ip_address(server)
            found.append(DnsRecord(type="A", name="", value=server))
        except ValueError:
            found.append(DnsRecord(type="CNAME", name="", value=server))
    return found


@router.get("/domains", response_model=list[DomainOut], responses=responses(401, 404))
async def list_domains(
    request: Request, project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> list[DomainOut]:
    """The service's domains with their verification and certificate state."""
    project, item = await services.get(session, org, project_name, service_name)
    rows = await service.domains_of(session, item.id)
    await release(session)
    issued: set[str] | None = None
    if any(row.https and row.status == "attached" for row in rows):
        client = await request.app.state.clients.client_for(project.server_id)
        try:
            issued = {cert.main for cert in await client.list_certificates()}
        except EasypanelError:
            issued = None
    return [domain_view(row, _certificate(row, issued)) for row in rows]


def _certificate(row: DomainRow, issued: set[str] | None) -> CertificateState:
    if row.status != "attached":
        return "pending"
    if issued is None:
        return "unknown"
    return "issued" if row.host in issued else "pending"


@router.post(
    "/domains",
    status_code=status.HTTP_201_CREATED,
    response_model=DomainCreatedOut,
    responses=responses(401, 402, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def add_domain(
    project_name: str, service_name: str, body: DomainIn, org: CurrentOrg, session: Session
) -> DomainCreatedOut:
    """Claim a host for the app. It serves once verified: create the TXT record of
    `verification`, point the host at one of `targets`, then call `verify`."""
    row = await service.add_domain(session, org, project_name, service_name, body)
    project, item = await services.get(session, org, project_name, service_name)
    return DomainCreatedOut(
        **domain_view(row, "pending").model_dump(),
        targets=[
            t.model_copy(update={"name": row.host}) for t in await _targets(session, project, item)
        ],
    )


@router.post(
    "/domains/{domain_id}/verify",
    response_model=DomainOut,
    responses=responses(401, 404, 409),
)
async def verify_domain(
    project_name: str,
    service_name: str,
    domain_id: str,
    org: CurrentOrg,
    session: Session,
    settings: AppSettings,
) -> DomainOut:
    """Look the TXT record up now; once it holds the token the domain is attached on
    Easypanel with HTTPS (409 DOMAIN_NOT_VERIFIED, with the reason, until then)."""
    _, _, row = await service.get_domain(session, org, project_name, service_name, domain_id)
    host, token = row.host, row.token
    await release(session)
    check = await check_txt(settings.dns_nameservers, host.removeprefix("*."), token or "")
    row, operation = await service.verify(
        session, org, project_name, service_name, domain_id, check
    )
    return domain_view(row, "pending", operation)


@router.post(
    "/domains/{domain_id}/primary",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DomainOut,
    responses=responses(401, 404, 409),
)
async def set_primary(
    project_name: str, service_name: str, domain_id: str, org: CurrentOrg, session: Session
) -> DomainOut:
    """Make it the app's primary domain (the one `$(PRIMARY_DOMAIN)` names)."""
    row, operation = await service.set_primary(session, org, project_name, service_name, domain_id)
    return domain_view(row, operation=operation)


@router.delete(
    "/domains/{domain_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DomainOut,
    responses=responses(401, 404),
)
async def remove_domain(
    project_name: str, service_name: str, domain_id: str, org: CurrentOrg, session: Session
) -> DomainOut:
    """Detach it from Easypanel; the host is free for others once that is done."""
    row, operation = await service.remove(session, org, project_name, service_name, domain_id)
    return domain_view(row, operation=operation)


@router.get("/ports", response_model=list[PortOut], responses=responses(401, 404))
async def list_ports(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> list[PortOut]:
    _, item = await services.get(session, org, project_name, service_name)
    return [port_view(row) for row in await port_service.ports_of(session, item.id, "publish")]


@router.post(
    "/ports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PortOut,
    responses=responses(401, 402, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def publish_port(
    project_name: str, service_name: str, body: PortIn, org: CurrentOrg, session: Session
) -> PortOut:
    """Publish a TCP or UDP container port on a host port of the platform's range."""
    row, operation = await port_service.publish(session, org, project_name, service_name, body)
    return port_view(row, operation)


@router.delete(
    "/ports/{port_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PortOut,
    responses=responses(401, 404),
)
async def unpublish_port(
    project_name: str, service_name: str, port_id: str, org: CurrentOrg, session: Session
) -> PortOut:
    row, operation = await port_service.unpublish(session, org, project_name, service_name, port_id)
    return port_view(row, operation)


async def _access(
    session: Session,
    project: ContainerProject,
    item: ContainerService,
    row: ServicePort | None,
    operation: EasypanelOperation | None,
    reveal: bool,
) -> ExternalAccessOut:
    host = await port_service.public_host(session, project)
    return ExternalAccessOut(
        enabled=row is not None,
        host=host if row else None,
        port=row.port if row else None,
        url=port_service.connection_url(item, host, row.port, reveal=reveal)
        if row and host
        else None,
        operation=None if operation is None else operation_ref(operation),
    )


@router.get(
    "/external-access", response_model=ExternalAccessOut, responses=responses(401, 403, 404)
)
async def external_access(
    project_name: str, service_name: str, org: CurrentOrg, session: Session, reveal: bool = False
) -> ExternalAccessOut:
    """Whether the database is reachable from outside, and its connection string
    (`?reveal=true`, owners and admins: with the password)."""
    if reveal:
        org.require("owner", "admin")
    project, item = await services.get(session, org, project_name, service_name)
    row = await port_service.exposed(session, item.id)
    return await _access(session, project, item, row, None, reveal)


@router.put(
    "/external-access",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExternalAccessOut,
    responses=responses(401, 402, 403, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def open_external_access(
    project_name: str, service_name: str, body: ExternalAccessIn, org: CurrentOrg, session: Session
) -> ExternalAccessOut:
    """Open the database to the outside on a host port of the platform's range (off by
    default; anyone with the password can then connect)."""
    org.require("owner", "admin")
    project, item, row, operation = await port_service.expose(
        session, org, project_name, service_name, body.port
    )
    return await _access(session, project, item, row, operation, False)


@router.delete(
    "/external-access",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExternalAccessOut,
    responses=responses(401, 403, 404, 422),
)
async def close_external_access(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> ExternalAccessOut:
    org.require("owner", "admin")
    project, item, operation = await port_service.unexpose(session, org, project_name, service_name)
    return await _access(session, project, item, None, operation, False)


@admin_router.get("", response_model=ServiceDomainOut, responses=responses(401, 403))
async def get_service_domain(_: AdminUser, session: Session) -> ServiceDomainOut:
    return ServiceDomainOut(domain=await service.service_domain(session), operations=[])


@admin_router.put("", response_model=ServiceDomainOut, responses=responses(401, 403, 422))
async def put_service_domain(
    body: ServiceDomainIn, admin: AdminUser, session: Session
) -> ServiceDomainOut:
    """Set the domain apps get their default address under and push it to every server."""
    domain = body.domain.removeprefix("*.") if body.domain else None
    saved, operations = await service.put_service_domain(session, domain, admin.id)
    return ServiceDomainOut(domain=saved, operations=[operation_ref(o) for o in operations])
