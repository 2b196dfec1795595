"""Custom domains: claimed at once (one service per host on the whole platform), verified by a
TXT record, then attached on Easypanel with a Let's Encrypt certificate by an operation.

DNS is looked up with no transaction open: the caller reads the domain, releases the session,
checks DNS, then records the outcome here under the row's lock. A domain still unproven after
`GIVE_UP` fails with the reason; the worker re-checks pending ones every five minutes.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.domains.dns import Check, challenge_name
from skypanel.kit import clock
from skypanel.kit.cache import Cache
from skypanel.kit.errors import Conflict, NotFound
from skypanel.models import (
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    EasypanelServer,
    ServiceDomain,
)
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.platform.service import cached_setting, get_setting, put_setting
from skypanel.services import claims
from skypanel.services import service as services
from skypanel.services.schemas import DomainIn
from skypanel.subscriptions.service import require_active

GIVE_UP = timedelta(days=7)
Lookup = Callable[[str, str], Awaitable[Check]]


class DomainNotFound(NotFound):
    code = "DOMAIN_NOT_FOUND"


class DomainNotVerified(Conflict):
    """The check is recorded (time, reason) even though the request is refused."""

    code = "DOMAIN_NOT_VERIFIED"
    keeps_work = True


class DomainBusy(Conflict):
    code = "DOMAIN_BUSY"


async def service_domain(session: AsyncSession, cache: Cache | None = None) -> str | None:
    """The platform's service domain (`apps.example.com`), or None when the admin set none;
    with `cache`, through the cached platform settings (dropped on every change), for the reads
    that show addresses on every view."""
    found = await (
        get_setting(session, "service_domain")
        if cache is None
        else cached_setting(cache, session, "service_domain")
    )
    return str(found) if found else None


def default_host(project: ContainerProject, item: ContainerService, domain: str) -> str:
    """Easypanel's own host of an app, `<project>-<service>.<domain>` (contract §3.4); the
    project name is unique per tenant, so the host is too."""
    name = f"{project.easypanel_project_name}-{item.easypanel_service_name}"
    return f"{name.replace('_', '-')}.{domain}"


def default_address(
    project: ContainerProject, item: ContainerService, domain: str | None
) -> str | None:
    if item.service_type != "app" or not domain:
        return None
    return f"https://{default_host(project, item, domain)}"


def url_of(row: ServiceDomain) -> str:
    return f"{'https' if row.https else 'http'}://{row.host}{'' if row.path == '/' else row.path}"


def verification_record(row: ServiceDomain) -> dict[str, str]:
    return {"type": "TXT", "name": challenge_name(row.host), "value": row.token or ""}


async def domains_of(session: AsyncSession, service_id: uuid.UUID) -> list[ServiceDomain]:
    found = await session.scalars(
        select(ServiceDomain)
        .where(ServiceDomain.service_id == service_id)
        .order_by(ServiceDomain.created_at, ServiceDomain.host)
    )
    return list(found)


async def get_domain(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    domain_id: str,
    *,
    lock: bool = False,
) -> tuple[ContainerProject, ContainerService, ServiceDomain]:
    """The service's domain; the project and service are looked up first (another tenant's
    names are not found), then the id (any text: a malformed one is simply not found)."""
    project, item = await services.get(session, org, project_name, service_name)
    query = select(ServiceDomain).where(
        ServiceDomain.id == parse_id(domain_id), ServiceDomain.service_id == item.id
    )
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise DomainNotFound(f"{service_name} has no domain {domain_id}", field="id")
    return project, item, row


def parse_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def queue(
    session: AsyncSession,
    project: ContainerProject,
    item: ContainerService,
    kind: str,
    **payload: Any,
) -> EasypanelOperation:
    """An operation on the service, in order after its earlier ones (its creation first)."""
    return await enqueue(
        session,
        kind,
        f"{project.easypanel_project_name}/{item.easypanel_service_name}",
        server_id=project.server_id,
        organization_id=item.organization_id,
        payload={
            "type": item.service_type,
            "project": project.easypanel_project_name,
            "service": item.easypanel_service_name,
            **payload,
        },
        subject=("service", item.id),
        after=[("project", project.id)],
        dedupe_key=f"{kind}:{item.id}:{uuid.uuid4()}",
    )


async def add_domain(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, data: DomainIn
) -> ServiceDomain:
    await require_active(session, org.id)
    _, item = await services.get(session, org, project_name, service_name)
    if item.service_type != "app":
        raise services.NotSupported("Only apps serve web domains", field="host")
    hosts = await claims.check_domains(session, [claims.normalise_host(data.host)], field="host")
    row = ServiceDomain(
        id=uuid.uuid4(),
        service_id=item.id,
        host=hosts[0],
        status="pending_verification",
        token=secrets.token_urlsafe(24),
        path=data.path,
        port=data.port,
        https=data.https,
        is_primary=False,
    )
    session.add(row)
    await claims.flush_claims(session)
    await services.log(
        session, org, item, "container.domain.create", f"Domain {row.host} added to {service_name}"
    )
    return row


async def record_check(
    session: AsyncSession, row: ServiceDomain, check: Check, now: datetime
) -> EasypanelOperation | None:
    """Record one DNS check of a pending domain (locked by the caller); once verified, queue
    its attachment. A domain pending longer than `GIVE_UP` fails with the last reason."""
    row.checked_at = now
    if not check.found:
        row.last_error = check.reason
        if now - row.created_at > GIVE_UP:
            row.status = "failed"
            row.last_error = f"Not verified within {GIVE_UP.days} days: {check.reason}"
        return None
    row.status, row.verified_at, row.last_error = "verified", now, None
    item = await session.get(ContainerService, row.service_id)
    assert item is not None
    project = await session.get(ContainerProject, item.project_id)
    assert project is not None
    return await queue(session, project, item, "easypanel.domain.attach", domain=str(row.id))


async def verify(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    domain_id: str,
    check: Check,
) -> tuple[ServiceDomain, EasypanelOperation | None]:
    """Record a check the caller made; refused (with the check kept) until the record is
    found. A failed domain may be checked again; a verified or attached one is left alone."""
    _, _, row = await get_domain(session, org, project_name, service_name, domain_id, lock=True)
    if row.status in ("verified", "attached"):
        return row, None
    if row.status == "removing":
        raise DomainBusy(f"{row.host} is being removed", field="id")
    if row.status == "failed" and row.token is not None:
        row.status, row.created_at = "pending_verification", clock.now()
    operation = await record_check(session, row, check, clock.now())
    if operation is None:
        raise DomainNotVerified(
            check.reason or f"{row.host} is not verified yet",
            field="host",
            record=verification_record(row),
        )
    return row, operation


async def set_primary(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    domain_id: str,
) -> tuple[ServiceDomain, EasypanelOperation]:
    project, item, row = await get_domain(
        session, org, project_name, service_name, domain_id, lock=True
    )
    if row.status in ("removing", "failed"):
        raise DomainBusy(f"{row.host} is {row.status}", field="id")
    await session.execute(
        update(ServiceDomain)
        .where(ServiceDomain.service_id == item.id, ServiceDomain.id != row.id)
        .values(is_primary=False)
    )
    row.is_primary = True
    operation = await queue(session, project, item, "easypanel.domain.primary", domain=str(row.id))
    await services.log(
        session, org, item, "container.domain.primary", f"{row.host} is {service_name}'s primary"
    )
    return row, operation


async def remove(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    domain_id: str,
) -> tuple[ServiceDomain, EasypanelOperation]:
    """Detach it on Easypanel; the host stays claimed until that is done."""
    project, item, row = await get_domain(
        session, org, project_name, service_name, domain_id, lock=True
    )
    row.status = "removing"
    operation = await queue(
        session, project, item, "easypanel.domain.detach", domain=str(row.id), host=row.host
    )
    await services.log(session, org, item, "container.domain.delete", f"Domain {row.host} removed")
    return row, operation


async def put_service_domain(
    session: AsyncSession, domain: str | None, actor: uuid.UUID
) -> tuple[str | None, list[EasypanelOperation]]:
    """Save the platform's service domain and mirror it to every active Easypanel server."""
    saved = await put_setting(session, "service_domain", domain, actor)
    servers = await session.scalars(select(EasypanelServer.id).where(EasypanelServer.active))
    operations = [
        await enqueue(
            session,
            "easypanel.settings.service_domain",
            "settings/serviceDomain",
            server_id=server_id,
            organization_id=None,
            subject=("server", server_id),
            dedupe_key=f"easypanel.settings.service_domain:{server_id}:{uuid.uuid4()}",
        )
        for server_id in servers
    ]
    return saved, operations
