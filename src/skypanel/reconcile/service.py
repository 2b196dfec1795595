"""Compare each server's projects and services with the records, every five minutes.

Services created directly in Easypanel (customer logins allow it) are imported and counted
against the quota; every service with a record, imported or made by the panel, is judged by the
safety rules on what Easypanel reports for it and stopped when it breaks them; records whose
resource vanished are marked `missing`; unknown projects in SkyPanel's namespace are reported.

Servers are reconciled two at a time, their listings and task counts taken in turn (`_listing`:
one such answer read at a time unless a server is slow), `down` ones left until they answer
again. A listing is compared as it arrives, never held whole (`_drift.Comparison`).
A run never calls Easypanel inside a transaction. Per server it reads a snapshot of the records
and closes that transaction, lists the server (and reads its task stats when a service already
stopped for safety may have been started again), then writes back in one short transaction that
re-reads each row it changes under lock and acts only if the row is still in the state that
justified the change: a service deployed, redeployed or deleted meanwhile is left alone.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.easypanel.schemas import Service, TaskStats
from skypanel.kit.db import transaction
from skypanel.kit.errors import AppError, InvalidInput
from skypanel.models import ContainerProject, ContainerService
from skypanel.operations.service import ClientSource
from skypanel.reconcile import repository
from skypanel.reconcile._drift import (
    IMPORTABLE_INTO,
    LISTING,
    LISTS,
    Comparison,
    Findings,
    Import,
    Unsafe,
    listed,
    mark_stopped,
    namespace_prefixes,
    running_again,
    stop_reason,
    stopped_for,
    task_of,
)
from skypanel.reconcile._listing import Turns
from skypanel.servers.parallel import answering, each_server
from skypanel.services import claims
from skypanel.services.service import queue_operation
from skypanel.subscriptions.naming import swarm_name
from skypanel.templates.safety import Violation

log = structlog.get_logger(__name__)
GONE = "The service is no longer on Easypanel"
AT_ONCE = 2
"""Servers reconciled side by side; their big answers are taken in turn (`_listing`)."""
_DATABASES = ("postgres", "mysql", "mariadb", "mongo", "redis")


@dataclass
class DriftReport:
    imported: list[str] = field(default_factory=list)
    stopped_unsafe: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown_projects: list[str] = field(default_factory=list)
    operations: list[uuid.UUID] = field(default_factory=list)


async def reconcile(
    sessions: async_sessionmaker[AsyncSession], clients: ClientSource
) -> DriftReport:
    """Every server that answers, two at a time; one failing stops no other."""
    report, turns = DriftReport(), Turns()
    async with sessions() as session:
        servers = await answering(session)

    async def one(server_id: uuid.UUID) -> None:
        await _server(sessions, clients, turns, server_id, report)

    await each_server(servers, one, event="reconcile.server_failed", at_once=AT_ONCE)
    return report


async def _server(
    sessions: async_sessionmaker[AsyncSession],
    clients: ClientSource,
    turns: Turns,
    server_id: uuid.UUID,
    report: DriftReport,
) -> None:
    async with sessions() as session:
        before = await repository.snapshot(session, server_id)
    client = await clients.client_for(server_id)
    try:
        compared = await turns.take(
            lambda: client.call_lists(LISTING, LISTS, lambda: Comparison(before))
        )
    except EasypanelError as exc:
        log.warning("reconcile.unreachable", server=str(server_id), error=exc.code)
        return
    found = compared.findings()
    marked = [unsafe for unsafe in found.unsafe if unsafe.marked]
    tasks = await _task_stats(client, turns, server_id, marked) if marked else None
    stops = [u for u in found.unsafe if not u.marked or running_again(u, tasks)]
    async with transaction(sessions) as session:
        await _write_back(session, server_id, found, stops, report)


async def _task_stats(
    client: EasypanelClient, turns: Turns, server_id: uuid.UUID, marked: list[Unsafe]
) -> dict[str, TaskStats] | None:
    """The task counts of the services already stopped for safety, the only ones read."""
    only = {task_of(unsafe) for unsafe in marked}
    try:
        return await turns.take(lambda: client.get_task_stats(only))
    except EasypanelError as exc:
        log.warning("reconcile.task_stats_unavailable", server=str(server_id), error=exc.code)
        return None


async def _write_back(
    session: AsyncSession,
    server_id: uuid.UUID,
    found: Findings,
    stops: list[Unsafe],
    report: DriftReport,
) -> None:
    project_ids = {p.id for p in found.missing_projects} | {i.project.id for i in found.imports}
    projects = await repository.lock_projects(session, project_ids)
    services = await repository.lock_services(
        session, {s.id for s in found.missing_services} | {u.seen.id for u in stops}
    )
    for seen in found.missing_services:
        row = services.get(seen.id)
        if row is not None and seen.unchanged(row):
            row.status, row.last_error = "missing", GONE
            report.missing.append(seen.where)
    for seen_project in found.missing_projects:
        locked = projects.get(seen_project.id)
        if locked is not None and seen_project.unchanged(locked):
            locked.status = "missing"
            report.missing.append(seen_project.name)
    for item in found.imports:
        locked = projects.get(item.project.id)
        if locked is not None and locked.status in IMPORTABLE_INTO:
            await _import(session, locked, item, report)
    owners = await repository.projects(session, {u.seen.project_id for u in stops})
    for unsafe in stops:
        row = services.get(unsafe.seen.id)
        if row is None or row.status == "deleting":
            continue
        if not unsafe.marked and stopped_for(row, unsafe.reason):
            continue  # stopped for this reason since the snapshot
        await _stop(session, owners[row.project_id], row, unsafe.violations, report)
    await _unknown_projects(session, server_id, found.unknown_projects, report)


async def _import(
    session: AsyncSession, project: ContainerProject, item: Import, report: DriftReport
) -> None:
    found = item.found
    if await repository.has_service(session, project.id, found.name):
        return  # deployed through SkyPanel since the snapshot
    resources = found.resources
    row = ContainerService(
        id=uuid.uuid4(),
        project_id=project.id,
        organization_id=project.organization_id,
        service_name=found.name[:40],
        easypanel_service_name=found.name,
        service_type=found.type if found.type in ("app", *_DATABASES) else "app",
        status="running" if found.enabled else "stopped",
        desired_state="running" if found.enabled else "stopped",
        cpu_limit=Decimal(str(resources.cpu_limit if resources else 0)),
        memory_limit_gb=Decimal(str((resources.memory_limit if resources else 0) / 1024)).quantize(
            Decimal("0.01")
        ),
        storage_limit_gb=Decimal("0"),
        configuration={"imported": True},
        server_id=project.server_id,
        swarm_name=_swarm_name(project.easypanel_project_name, found.name),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return  # a record with this name (or Swarm name) was added meanwhile
    refused = await _claim(session, project, row, found)
    where = f"{project.easypanel_project_name}/{found.name}"
    report.imported.append(where)
    await record(
        session,
        "container.drift.import",
        f"Service {where} created in Easypanel was imported and counts against the quota",
        organization_id=project.organization_id,
        entity_type="container_service",
        entity_id=row.id,
        status="warning",
    )
    if item.violations or refused:
        await _stop(session, project, row, [*item.violations, *refused], report)


def _swarm_name(project: str, service: str) -> str | None:
    try:
        return swarm_name(project, service)
    except InvalidInput:
        return None  # not a name Easypanel makes; nothing can collide with it


async def _claim(
    session: AsyncSession, project: ContainerProject, row: ContainerService, found: Service
) -> list[Violation]:
    """Claim the imported service's domains and published ports as a deployment would. Each one
    the rules refuse (another service's host, a reserved one, a port outside the range or taken)
    is a violation: the service is stopped rather than left serving what is not its own."""
    refused: list[Violation] = []
    for domain in getattr(found, "domains", []):
        host = str(domain.get("host", ""))
        try:
            async with session.begin_nested():
                normalised = claims.normalise_host(host, wildcard=bool(domain.get("wildcard")))
                hosts = await claims.check_domains(session, [normalised])
                claims.add_claims(session, row, project.server_id, hosts, [])
                await claims.flush_claims(session)
        except AppError:
            refused.append(Violation(found.name, f"domains.{host}", f"the domain {host}"))
    for published in getattr(found, "ports", []):
        port = claims.Port(
            int(published.get("published", 0)), str(published.get("protocol", "tcp"))
        )
        try:
            async with session.begin_nested():
                ports = await claims.check_ports(session, project.server_id, [port])
                claims.add_claims(session, row, project.server_id, [], ports)
                await claims.flush_claims(session)
        except AppError:
            label = f"{port.port}/{port.protocol}"
            refused.append(Violation(found.name, f"ports.{label}", f"the published port {label}"))
    return refused


async def _stop(
    session: AsyncSession,
    project: ContainerProject,
    service: ContainerService,
    violations: list[Violation],
    report: DriftReport,
) -> None:
    """Stop a service that breaks the safety rules; say why to its organization and to admins."""
    where = f"{project.easypanel_project_name}/{service.easypanel_service_name}"
    mark_stopped(service, stop_reason(violations))
    operation = await queue_operation(
        session,
        service.organization_id,
        project,
        service,
        "easypanel.service.stop",
        repeatable=False,
    )
    report.stopped_unsafe.append(where)
    report.operations.append(operation.id)
    uses = listed(violations)
    details = {
        "project": project.easypanel_project_name,
        "service": service.easypanel_service_name,
        "violations": [asdict(v) for v in violations],
        "operationId": str(operation.id),
    }
    await record(
        session,
        "container.drift.unsafe",
        f"Service {where} was stopped: it uses {uses}, which is not allowed",
        organization_id=service.organization_id,
        entity_type="container_service",
        entity_id=service.id,
        status="failure",
        metadata=details,
    )
    await record(
        session,
        "container.drift.unsafe",
        f"Service {where} of organization {service.organization_id} uses {uses}; it was stopped",
        entity_type="container_service",
        entity_id=service.id,
        status="failure",
        metadata={
            **details,
            "organizationId": str(service.organization_id),
            "serverId": str(project.server_id),
        },
    )


async def _unknown_projects(
    session: AsyncSession, server_id: uuid.UUID, names: list[str], report: DriftReport
) -> None:
    recorded = await repository.recorded_projects(session, server_id, names)
    fresh = [name for name in names if name not in recorded]  # not created since the snapshot
    slugs = await repository.existing_slugs(
        session, {prefix for name in fresh for prefix in namespace_prefixes(name)}
    )
    for name in fresh:
        if not any(prefix in slugs for prefix in namespace_prefixes(name)):
            continue
        report.unknown_projects.append(name)
        await record(
            session,
            "container.drift.unknown_project",
            f"Easypanel project {name} is in SkyPanel's namespace but has no record",
            status="warning",
            metadata={"project": name, "serverId": str(server_id)},
        )
