"""Compare each server's projects and services (one listProjectsAndServices call) with the
records: import services created directly in Easypanel (customer logins allow it) and count
them against the quota, stop imported ones that break the safety rules, mark records whose
resource vanished as `missing`, and report unknown projects in SkyPanel's namespace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.easypanel.schemas import Service
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import ContainerProject, ContainerService, EasypanelServer, Organization
from skypanel.operations.service import ClientSource, enqueue
from skypanel.services.workload import database_kind

log = structlog.get_logger(__name__)
UNSAFE_PATHS = ("/var/run/docker.sock", "/run/docker.sock")


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
    report = DriftReport()
    async with sessions() as session:
        servers = (
            await session.scalars(select(EasypanelServer).where(EasypanelServer.active))
        ).all()
    for server in servers:
        client = await clients.client_for(server.id)
        try:
            listing = await client.list_projects_and_services()
        except EasypanelError as exc:
            log.warning("reconcile.unreachable", server=str(server.id), error=exc.code)
            continue
        names = {project.name for project in listing.projects}
        await _server(sessions, client, server, names, listing.services, report)
    return report


async def _server(
    sessions: async_sessionmaker[AsyncSession],
    client: EasypanelClient,
    server: EasypanelServer,
    names: set[str],
    services: list[Service],
    report: DriftReport,
) -> None:
    live = {(s.project_name, s.name): s for s in services}
    async with transaction(sessions) as session:
        ours = (
            await session.scalars(
                select(ContainerProject).where(ContainerProject.server_id == server.id)
            )
        ).all()
        by_name = {p.easypanel_project_name: p for p in ours}
        records = (
            await session.scalars(
                select(ContainerService).where(
                    ContainerService.project_id.in_([p.id for p in ours])
                )
            )
        ).all()
        known = {
            (
                next(p.easypanel_project_name for p in ours if p.id == r.project_id),
                r.easypanel_service_name,
            ): r
            for r in records
        }
        for key, item in known.items():
            if key not in live and item.status not in ("creating", "deleting", "missing"):
                item.status, item.last_error = "missing", "The service is no longer on Easypanel"
                report.missing.append("/".join(key))
        for mine in ours:
            if mine.easypanel_project_name not in names and mine.status == "active":
                mine.status = "missing"
                report.missing.append(mine.easypanel_project_name)
        for key, found in live.items():
            holder = by_name.get(key[0])
            if holder is None or key in known or holder.status not in ("active", "missing"):
                continue
            await _import(session, client, holder, found, report)
        slugs = set(await session.scalars(select(Organization.slug)))
        for name in sorted(names - set(by_name)):
            if any(name == slug or name.startswith(f"{slug}-") for slug in slugs):
                report.unknown_projects.append(name)
                await record(
                    session,
                    "container.drift.unknown_project",
                    f"Easypanel project {name} is in SkyPanel's namespace but has no record",
                    status="warning",
                    metadata={"project": name, "serverId": str(server.id)},
                )


async def _import(
    session: AsyncSession,
    client: EasypanelClient,
    project: ContainerProject,
    found: Service,
    report: DriftReport,
) -> None:
    resources = found.resources
    item = ContainerService(
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
    )
    session.add(item)
    await session.flush()
    where = f"{project.easypanel_project_name}/{found.name}"
    report.imported.append(where)
    await record(
        session,
        "container.drift.import",
        f"Service {where} created in Easypanel was imported and counts against the quota",
        organization_id=project.organization_id,
        entity_type="container_service",
        entity_id=item.id,
        status="warning",
    )
    reason = await _unsafe(client, project.easypanel_project_name, found)
    if reason is None:
        return
    item.desired_state, item.last_error = "stopped", f"Stopped: {reason}"
    operation = await enqueue(
        session,
        "easypanel.service.stop",
        where,
        server_id=project.server_id,
        organization_id=project.organization_id,
        payload={
            "type": item.service_type,
            "project": project.easypanel_project_name,
            "service": found.name,
        },
        subject=("service", item.id),
    )
    report.stopped_unsafe.append(where)
    report.operations.append(operation.id)
    await record(
        session,
        "container.drift.unsafe",
        f"Service {where} breaks the safety rules ({reason}) and was stopped",
        organization_id=project.organization_id,
        entity_type="container_service",
        entity_id=item.id,
        status="failure",
        metadata={"reason": reason, "at": clock.now().isoformat()},
    )


_DATABASES = ("postgres", "mysql", "mariadb", "mongo", "redis")


async def _unsafe(client: EasypanelClient, project: str, found: Service) -> str | None:
    """Why an imported app may not run: a bind mount, the Docker socket, privileged mode."""
    if database_kind(found.type) is not None or found.type != "app":
        return None
    app = await client.inspect_app(project, found.name)
    for mount in app.mounts:
        if mount.get("type") == "bind":
            return f"bind mount of {mount.get('hostPath', '?')}"
        if any(path in str(mount) for path in UNSAFE_PATHS):
            return "the Docker socket is mounted"
    deploy = app.deploy.model_dump() if app.deploy else {}
    if deploy.get("privileged") or deploy.get("network_mode") == "host":
        return "privileged mode or host networking"
    return None
