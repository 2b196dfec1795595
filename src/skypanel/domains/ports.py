"""Published ports of apps and external access to databases: host ports from the admin's range,
each held by one service per server (the claim is written with the request, Easypanel is
changed by an operation, and a removed port stays claimed until Easypanel let it go)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.domains.service import parse_id, queue
from skypanel.kit import envvars
from skypanel.kit.errors import NotFound
from skypanel.models import (
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    EasypanelServer,
    ServicePort,
)
from skypanel.organizations.context import OrgContext
from skypanel.services import claims
from skypanel.services import service as services
from skypanel.services.schemas import PortIn
from skypanel.services.secrets import service_credentials
from skypanel.subscriptions.service import require_active

SCHEMES = {"postgres": "postgres", "mongo": "mongodb", "redis": "redis"}


class PortNotFound(NotFound):
    code = "PORT_NOT_FOUND"


async def ports_of(session: AsyncSession, service_id: uuid.UUID, purpose: str) -> list[ServicePort]:
    found = await session.scalars(
        select(ServicePort)
        .where(ServicePort.service_id == service_id, ServicePort.purpose == purpose)
        .order_by(ServicePort.port, ServicePort.protocol)
    )
    return list(found)


async def publish(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, data: PortIn
) -> tuple[ServicePort, EasypanelOperation]:
    await require_active(session, org.id)
    project, item = await services.get(session, org, project_name, service_name)
    if item.service_type != "app":
        raise services.NotSupported(
            "Only apps publish ports; give a database external access instead", field="published"
        )
    await claims.check_ports(
        session, project.server_id, [claims.Port(data.published, data.protocol)]
    )
    row = ServicePort(
        id=uuid.uuid4(),
        service_id=item.id,
        server_id=project.server_id,
        port=data.published,
        protocol=data.protocol,
        purpose="publish",
        target=data.target,
    )
    session.add(row)
    await claims.flush_claims(session)
    operation = await queue(session, project, item, "easypanel.port.publish", port=str(row.id))
    await services.log(
        session, org, item, "container.port.create", f"Port {row.port}/{row.protocol} published"
    )
    return row, operation


async def unpublish(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, port_id: str
) -> tuple[ServicePort, EasypanelOperation]:
    await require_active(session, org.id)
    project, item = await services.get(session, org, project_name, service_name)
    row = await session.scalar(
        select(ServicePort)
        .where(
            ServicePort.id == parse_id(port_id),
            ServicePort.service_id == item.id,
            ServicePort.purpose == "publish",
        )
        .with_for_update()
    )
    if row is None:
        raise PortNotFound(f"{service_name} publishes no port {port_id}", field="id")
    operation = await queue(
        session,
        project,
        item,
        "easypanel.port.unpublish",
        port=str(row.id),
        published=row.port,
        protocol=row.protocol,
    )
    await services.log(
        session, org, item, "container.port.delete", f"Port {row.port}/{row.protocol} removed"
    )
    return row, operation


async def _database(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService]:
    project, item = await services.get(session, org, project_name, service_name)
    if item.service_type == "app":
        raise services.NotSupported(
            "External access is for databases; apps publish ports or serve domains", field="port"
        )
    return project, item


async def exposed(session: AsyncSession, service_id: uuid.UUID) -> ServicePort | None:
    found = await ports_of(session, service_id, "expose")
    return found[0] if found else None


async def expose(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, port: int | None
) -> tuple[ContainerProject, ContainerService, ServicePort, EasypanelOperation | None]:
    """Publish the database on a host port of the range (the asked one or the first free)."""
    await require_active(session, org.id)
    project, item = await _database(session, org, project_name, service_name)
    current = await exposed(session, item.id)
    if current is not None and port in (None, current.port):
        return project, item, current, None
    wanted = port or await claims.first_free_port(session, project.server_id, "tcp")
    await claims.check_ports(session, project.server_id, [claims.Port(wanted, "tcp")])
    if current is not None:
        await session.delete(current)
        await session.flush()
    row = ServicePort(
        id=uuid.uuid4(),
        service_id=item.id,
        server_id=project.server_id,
        port=wanted,
        protocol="tcp",
        purpose="expose",
        target=int(item.configuration["port"]),
    )
    session.add(row)
    await claims.flush_claims(session)
    operation = await queue(session, project, item, "easypanel.database.expose")
    await services.log(
        session, org, item, "container.database.expose", f"{service_name} open on port {wanted}"
    )
    return project, item, row, operation


async def unexpose(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService, EasypanelOperation | None]:
    await require_active(session, org.id)
    project, item = await _database(session, org, project_name, service_name)
    current = await exposed(session, item.id)
    if current is None:
        return project, item, None
    await session.delete(current)
    operation = await queue(session, project, item, "easypanel.database.expose")
    await services.log(
        session, org, item, "container.database.unexpose", f"{service_name} closed to outside"
    )
    return project, item, operation


async def public_host(session: AsyncSession, project: ContainerProject) -> str | None:
    server = await session.get(EasypanelServer, project.server_id)
    return None if server is None else urlsplit(server.api_url).hostname


def connection_url(item: ContainerService, host: str, port: int, *, reveal: bool) -> str:
    """The connection string from outside the platform (password masked unless revealed)."""
    config = item.configuration
    password = service_credentials(item).get("password", "") if reveal else envvars.MASK
    scheme = SCHEMES.get(item.service_type, "mysql")
    database = config.get("database")
    path = f"/{database}" if database else ""
    return f"{scheme}://{config.get('user') or 'default'}:{password}@{host}:{port}{path}"
