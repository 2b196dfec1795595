"""The periodic backup sweep, for database and volume backups alike: record the scheduled runs
Easypanel made, settle every pending backup against the bucket, apply each schedule's retention
and delete the backups of organizations whose subscription ended more than
`backup_retention_after_termination_days` ago.

While a subscription is suspended its backups stay and its scheduled runs are not recorded (its
databases are stopped, so Easypanel's scheduled runs of them fail anyway). Easypanel and the
bucket are called with no transaction open.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.backups import service, storage
from skypanel.backups.storage import Bucket
from skypanel.easypanel import BackupAction, BackupKind, EasypanelError
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import (
    BackupRun,
    BackupSchedule,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
)
from skypanel.operations.service import ClientSource
from skypanel.platform.service import get_setting

log = structlog.get_logger(__name__)


@dataclass
class SweepReport:
    recorded: int = 0
    settled: int = 0
    expired: int = 0
    """Deleted by a schedule's retention."""
    terminated: int = 0
    """Deleted because their organization's subscription ended long enough ago."""
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Watched:
    service_id: uuid.UUID
    organization_id: uuid.UUID
    server_id: uuid.UUID | None
    project: str
    service: str
    volume: str | None
    retention: int


async def sweep(sessions: async_sessionmaker[AsyncSession], clients: ClientSource) -> SweepReport:
    report = SweepReport()
    async with sessions() as session:
        bucket = await service.bucket(session)
        days = int(await get_setting(session, "backup_retention_after_termination_days"))
        watched = await _watched(session)
    if bucket is None:
        return report
    for item in watched:
        try:
            report.recorded += await _record(sessions, clients, item)
        except EasypanelError as exc:
            report.errors.append(f"{item.project}/{item.service}: {exc.message}")
    report.settled = await _settle(sessions, bucket)
    for item in watched:
        report.expired += await _expire(sessions, bucket, item)
    report.terminated = await _terminated(sessions, bucket, clock.now() - timedelta(days=days))
    log.info("backups.sweep", **{k: v for k, v in vars(report).items() if k != "errors"})
    return report


async def _watched(session: AsyncSession) -> list[_Watched]:
    """Schedules on Easypanel whose organization's subscription is running (not suspended)."""
    running = select(ContainerSubscription.organization_id).where(
        ContainerSubscription.status.in_(("active", "past_due"))
    )
    rows = await session.execute(
        select(BackupSchedule, ContainerService, ContainerProject)
        .join(ContainerService, ContainerService.id == BackupSchedule.service_id)
        .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
        .where(
            BackupSchedule.easypanel_backup_id.is_not(None),
            BackupSchedule.organization_id.in_(running),
        )
    )
    return [
        _Watched(
            item.id,
            item.organization_id,
            project.server_id,
            project.easypanel_project_name,
            item.easypanel_service_name,
            schedule.volume,
            schedule.retention,
        )
        for schedule, item, project in rows
    ]


def _scheduled(actions: Sequence[BackupAction], volume: str | None) -> list[BackupAction]:
    """Runs Easypanel made by itself of the database or of this volume (SkyPanel's own runs are
    recorded when they start)."""
    return [
        a
        for a in actions
        if not (a.model_extra or {}).get("isApiAction")
        and a.meta
        and (volume is None or a.meta.get("volumeName") == volume)
    ]


def _at(action: BackupAction) -> datetime:
    try:
        return datetime.fromisoformat(str(action.created_at).replace("Z", "+00:00"))
    except ValueError:
        return clock.now()


def _error(action: BackupAction) -> str | None:
    return "Easypanel reported an error" if action.status == "error" else None


async def _record(
    sessions: async_sessionmaker[AsyncSession], clients: ClientSource, item: _Watched
) -> int:
    client = await clients.client_for(item.server_id)
    kind: BackupKind = "backup" if item.volume is None else "volumeBackup"
    found = _scheduled(
        await client.backup_actions(item.project, item.service, kind=kind), item.volume
    )
    if not found:
        return 0
    async with transaction(sessions) as session:
        inserted = await session.scalars(
            insert(BackupRun)
            .values(
                [
                    {
                        "id": uuid.uuid4(),
                        "service_id": item.service_id,
                        "organization_id": item.organization_id,
                        "server_id": item.server_id,
                        "provider_id": (action.meta or {}).get("storageProviderId"),
                        "kind": "database" if item.volume is None else "volume",
                        "volume": item.volume,
                        "database_name": None
                        if item.volume is not None
                        else str((action.meta or {}).get("databaseName", "")),
                        "key": (action.meta or {}).get("path"),
                        "easypanel_action_id": action.id,
                        "scheduled": True,
                        "requested_at": _at(action),
                        "state": "failed" if action.status == "error" else "pending",
                        "error": "Easypanel reported an error"
                        if action.status == "error"
                        else None,
                    }
                    for action in found
                ]
            )
            .on_conflict_do_nothing(index_elements=["server_id", "easypanel_action_id"])
            .returning(BackupRun.id)
        )
        return len(inserted.all())


async def _settle(sessions: async_sessionmaker[AsyncSession], bucket: Bucket) -> int:
    async with sessions() as session:
        pending = (
            await session.scalars(
                select(BackupRun).where(
                    BackupRun.state == "pending", BackupRun.deleted_at.is_(None)
                )
            )
        ).all()
    found = await storage.head(bucket, service.settle_keys(pending))
    async with transaction(sessions) as session:
        for run in pending:
            session.add(run)
        service.settle(pending, found, clock.now())
    return sum(1 for run in pending if run.state != "pending")


async def _expire(
    sessions: async_sessionmaker[AsyncSession], bucket: Bucket, item: _Watched
) -> int:
    """Delete the done backups of the database or the volume beyond the schedule's retention,
    oldest first."""
    async with sessions() as session:
        done = (
            await session.scalars(
                select(BackupRun)
                .where(
                    BackupRun.service_id == item.service_id,
                    BackupRun.volume == item.volume,
                    BackupRun.state == "done",
                    BackupRun.deleted_at.is_(None),
                )
                .order_by(BackupRun.requested_at.desc(), BackupRun.id)
                .offset(item.retention)
            )
        ).all()
    await storage.delete(bucket, [run.key for run in done if run.key is not None])
    async with transaction(sessions) as session:
        await session.execute(
            update(BackupRun)
            .where(BackupRun.id.in_([run.id for run in done]))
            .values(deleted_at=clock.now())
        )
    return len(done)


async def _terminated(
    sessions: async_sessionmaker[AsyncSession], bucket: Bucket, cutoff: datetime
) -> int:
    live = select(ContainerSubscription.organization_id).where(
        ContainerSubscription.status != "cancelled"
    )
    ended = (
        select(ContainerSubscription.organization_id)
        .group_by(ContainerSubscription.organization_id)
        .having(func.max(ContainerSubscription.cancelled_at) < cutoff)
    )
    async with sessions() as session:
        runs = (
            await session.scalars(
                select(BackupRun).where(
                    BackupRun.organization_id.in_(ended), BackupRun.organization_id.not_in(live)
                )
            )
        ).all()
    return await _forget(sessions, bucket, runs)


async def _forget(
    sessions: async_sessionmaker[AsyncSession], bucket: Bucket, runs: Sequence[BackupRun]
) -> int:
    """Delete the runs' files from the bucket, then the runs (their organization is gone from
    Easypanel: nothing records them again)."""
    if not runs:
        return 0
    await storage.delete(bucket, [run.key for run in runs if run.key is not None])
    async with transaction(sessions) as session:
        await session.execute(delete(BackupRun).where(BackupRun.id.in_([run.id for run in runs])))
    return len(runs)
