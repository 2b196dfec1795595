"""Operations on domains, ports, database exposure and the service domain. Each reads its row
when delivered and converges Easypanel to it, so a retry (or a late one) is harmless."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import (
    LETS_ENCRYPT,
    DomainRecord,
    EasypanelNotFound,
    ServiceDestination,
    workload,
)
from skypanel.easypanel.schemas import PortSpec
from skypanel.models import EasypanelOperation, ServiceDomain, ServicePort
from skypanel.operations.service import Handler, OperationContext
from skypanel.platform.service import get_setting


def _where(operation: EasypanelOperation) -> tuple[str, str, str]:
    payload = operation.payload
    return payload["type"], payload["project"], payload["service"]


async def _domain(ctx: OperationContext, operation: EasypanelOperation) -> ServiceDomain | None:
    async with ctx.sessions() as session:
        return await session.get(ServiceDomain, uuid.UUID(operation.payload["domain"]))


def _record(row: ServiceDomain, project: str, service: str, domain_id: str) -> DomainRecord:
    return DomainRecord(
        id=domain_id,
        host=row.host.removeprefix("*."),
        https=row.https,
        path=row.path,
        middlewares=[],
        certificate_resolver=LETS_ENCRYPT if row.https else "",
        wildcard=row.host.startswith("*."),
        service_destination=ServiceDestination(
            port=row.port, project_name=project, service_name=service
        ),
    )


async def _easypanel_id(
    ctx: OperationContext, row: ServiceDomain, project: str, service: str
) -> str | None:
    """The domain's id on Easypanel: the recorded one if it is still there, else the record of
    the same host (given at creation, or made by an attempt whose answer was lost)."""
    found = await ctx.client.list_domains(project, service)
    for domain in found:
        if domain.id == row.easypanel_domain_id:
            return domain.id
    host = row.host.removeprefix("*.")
    return next((d.id for d in found if d.host == host and d.path == row.path), None)


async def attach(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    row = await _domain(ctx, operation)
    if row is None or row.status not in ("verified", "attached"):
        return {"skipped": True}
    _, project, service = _where(operation)
    known = await _easypanel_id(ctx, row, project, service)
    if known is None:
        known = (await ctx.client.create_domain(_record(row, project, service, ""))).id
    else:
        await ctx.client.update_domain(_record(row, project, service, known))
    if row.is_primary:
        await ctx.client.set_primary_domain(known)
    return {"id": known}


async def _attached(session: AsyncSession, operation: EasypanelOperation) -> None:
    await session.execute(
        update(ServiceDomain)
        .where(ServiceDomain.id == uuid.UUID(operation.payload["domain"]))
        .values(
            status="attached",
            easypanel_domain_id=(operation.result or {}).get("id"),
            last_error=None,
        )
    )


async def _domain_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    await session.execute(
        update(ServiceDomain)
        .where(ServiceDomain.id == uuid.UUID(operation.payload["domain"]))
        .values(status="failed", last_error=operation.last_error or "Easypanel refused it")
    )


async def make_primary(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    row = await _domain(ctx, operation)
    if row is None or not row.is_primary or row.status != "attached":
        return {"skipped": True}
    _, project, service = _where(operation)
    known = await _easypanel_id(ctx, row, project, service)
    if known is None:
        return {"skipped": True}
    await ctx.client.set_primary_domain(known)
    return {"id": known}


async def detach(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    row = await _domain(ctx, operation)
    if row is None:
        return {"removed": False}
    _, project, service = _where(operation)
    try:
        known = await _easypanel_id(ctx, row, project, service)
    except EasypanelNotFound:
        return {"removed": False}
    if known is not None:
        await ctx.client.delete_domain(known)
    return {"removed": known is not None}


async def _detached(session: AsyncSession, operation: EasypanelOperation) -> None:
    await session.execute(
        delete(ServiceDomain).where(ServiceDomain.id == uuid.UUID(operation.payload["domain"]))
    )


async def _port(ctx: OperationContext, operation: EasypanelOperation) -> ServicePort | None:
    async with ctx.sessions() as session:
        return await session.get(ServicePort, uuid.UUID(operation.payload["port"]))


async def publish(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    row = await _port(ctx, operation)
    if row is None or row.target is None:
        return {"skipped": True}
    _, project, service = _where(operation)
    current = await ctx.client.list_ports(project, service)
    if any((p.published, p.protocol) == (row.port, row.protocol) for p in current):
        return {"published": row.port}
    spec = PortSpec.model_validate(
        {"published": row.port, "target": row.target, "protocol": row.protocol}
    )
    await ctx.client.create_port(project, service, spec)
    return {"published": row.port}


async def _drop_port(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The port is not published (any more, or Easypanel would not): the claim goes; a failed
    operation tells why."""
    await session.execute(
        delete(ServicePort).where(ServicePort.id == uuid.UUID(operation.payload["port"]))
    )


async def unpublish(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    _, project, service = _where(operation)
    wanted = (operation.payload["published"], operation.payload["protocol"])
    try:
        current = await ctx.client.list_ports(project, service)
    except EasypanelNotFound:
        return {"removed": False}
    for index, port in enumerate(current):
        if (port.published, port.protocol) == wanted:
            await ctx.client.delete_port(project, service, index)
            return {"removed": True}
    return {"removed": False}


async def expose(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Converge to the database's recorded exposure (0: not exposed)."""
    kind = workload.database_kind(_where(operation)[0])
    assert kind is not None
    async with ctx.sessions() as session:
        port = await session.scalar(
            select(ServicePort.port).where(
                ServicePort.service_id == operation.subject_id, ServicePort.purpose == "expose"
            )
        )
    _, project, service = _where(operation)
    await ctx.client.expose_database(kind, project, service, port or 0)
    return {"exposedPort": port or 0}


async def push_service_domain(
    ctx: OperationContext, operation: EasypanelOperation
) -> dict[str, Any]:
    """Mirror the platform's current service domain (read now: the latest change wins)."""
    async with ctx.sessions() as session:
        domain = await get_setting(session, "service_domain")
    await ctx.client.set_service_domain(domain or None)
    return {"serviceDomain": domain}


HANDLERS: dict[str, Handler] = {
    "easypanel.domain.attach": Handler(attach, on_success=_attached, on_failure=_domain_failed),
    "easypanel.domain.primary": Handler(make_primary),
    "easypanel.domain.detach": Handler(detach, on_success=_detached, on_failure=_domain_failed),
    "easypanel.port.publish": Handler(publish, on_failure=_drop_port),
    "easypanel.port.unpublish": Handler(unpublish, on_success=_drop_port),
    "easypanel.database.expose": Handler(expose),
    "easypanel.settings.service_domain": Handler(push_service_domain),
}
