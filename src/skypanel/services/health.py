"""The health watch: every minute, each server's task counts judged as the status pages judge
them (`skypanel.services.status`), so a service that keeps crashing is noticed even when nobody
looks at it.

A service found crash-looping gets `crash_looping_since` and its organization's managers are told,
once per run (the event's key names the service and the start it belongs to, so a service that
recovers and crashes again tells again only after its next start or deploy); a service found up
again loses the mark. Easypanel is read outside any transaction; each change is one guarded
UPDATE that applies only if the service was not started, stopped or changed meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelError, swarm_name
from skypanel.kit import clock
from skypanel.kit.cache import Cache
from skypanel.kit.db import transaction
from skypanel.models import ContainerProject, ContainerService
from skypanel.notices.service import emit
from skypanel.operations.service import ClientSource
from skypanel.servers.parallel import answering, each_server
from skypanel.services import status as live

log = structlog.get_logger(__name__)
WATCHED = ("running",)
"""Recorded states in which the tasks are judged: the others are on their way somewhere (a first
build can take longer than any start window)."""


@dataclass
class HealthReport:
    crash_looping: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)


async def watch(
    sessions: async_sessionmaker[AsyncSession],
    clients: ClientSource,
    cache: Cache,
    timing: live.Timing,
) -> HealthReport:
    """Every server that answers, a few at a time; one failing stops no other."""
    report = HealthReport()
    async with sessions() as session:
        servers = await answering(session)

    async def one(server_id: uuid.UUID) -> None:
        await _server(sessions, clients, cache, timing, server_id, report)

    await each_server(servers, one, event="health.server_failed")
    return report


async def _server(
    sessions: async_sessionmaker[AsyncSession],
    clients: ClientSource,
    cache: Cache,
    timing: live.Timing,
    server_id: uuid.UUID,
    report: HealthReport,
) -> None:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(ContainerService, ContainerProject)
                .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
                .where(
                    ContainerProject.server_id == server_id,
                    ContainerService.status.in_(WATCHED),
                    ContainerService.desired_state == "running",
                )
            )
        ).all()
    if not rows:
        return
    client = await clients.client_for(server_id)
    try:
        stats = await client.get_task_stats()
    except EasypanelError as exc:
        log.warning("health.unreachable", server=str(server_id), error=exc.code)
        return
    now = clock.now().timestamp()
    for service, project in rows:
        seen = stats.get(swarm_name(project.easypanel_project_name, service.easypanel_service_name))
        if seen is None:
            continue  # the reconciliation marks vanished services
        counts = (seen.desired, seen.actual)
        before = await live.remembered(cache, service)
        observed, after = live.judge(service, counts, before, now, timing)
        await live.remember(cache, service, before, after)
        looping = observed.status == "crash-looping"
        if looping and service.crash_looping_since is None:
            assert after.down_since is not None
            since = datetime.fromtimestamp(after.down_since, UTC)
            if await _mark(sessions, service, project, since):
                report.crash_looping.append(service.swarm_name or service.service_name)
        elif (
            observed.status == "running"
            and service.crash_looping_since is not None
            and await _unmark(sessions, service)
        ):
            report.recovered.append(service.swarm_name or service.service_name)


def _unchanged(service: ContainerService) -> ColumnElement[bool]:
    return and_(
        ContainerService.id == service.id,
        ContainerService.updated_at == service.updated_at,
        ContainerService.status.in_(WATCHED),
    )


async def _mark(
    sessions: async_sessionmaker[AsyncSession],
    service: ContainerService,
    project: ContainerProject,
    since: datetime,
) -> bool:
    async with transaction(sessions) as session:
        marked = await session.scalar(
            update(ContainerService)
            .where(_unchanged(service), ContainerService.crash_looping_since.is_(None))
            .values(crash_looping_since=since, last_error=live.CRASHING)
            .returning(ContainerService.id)
        )
        if marked is None:
            return False
        start = service.started_at.isoformat() if service.started_at else "never"
        await emit(
            session,
            "service.crash_looping",
            dedupe_key=f"crash_looping:{service.id}:{start}",
            organization_id=service.organization_id,
            data={
                "service": service.service_name,
                "project": project.project_name,
                "since": since.strftime("%Y-%m-%d %H:%M UTC"),
            },
        )
    return True


async def _unmark(sessions: async_sessionmaker[AsyncSession], service: ContainerService) -> bool:
    async with transaction(sessions) as session:
        cleared = await session.scalar(
            update(ContainerService)
            .where(_unchanged(service), ContainerService.crash_looping_since.is_not(None))
            .values(crash_looping_since=None, last_error=None)
            .returning(ContainerService.id)
        )
    return cleared is not None
