"""The deployments sync: every minute, each unfinished deployment is looked up in Easypanel's
actions and, once its action ended, marked done or failed with its final log; deployment actions
Easypanel ran on its own (a GitHub push with auto-deploy on, the Easypanel UI) are imported as
`git_push` deployments.

Deployments are claimed with `FOR UPDATE SKIP LOCKED` and a `checked_at` stamp in one short
transaction, so several workers share the work; Easypanel is read with no transaction open, and
each outcome is recorded in a new one, only if the deployment is still unfinished.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.deployments.service import readable_log
from skypanel.easypanel import DEPLOYMENT, EasypanelClient, EasypanelError, action_time
from skypanel.easypanel.schemas import Action
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import ContainerProject, ContainerService, ServiceDeployment
from skypanel.models.deployments import UNFINISHED
from skypanel.notices import service as notices
from skypanel.notices.service import emit
from skypanel.operations.service import ClientSource

log = structlog.get_logger(__name__)
CHECK_EVERY = timedelta(seconds=20)
BATCH = 100
RECENT = 10
"""Deployment actions read per app (newest first)."""
ENDED = {"done": "done", "error": "failed"}


@dataclass
class SyncReport:
    finished: list[uuid.UUID] = field(default_factory=list)
    imported: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _App:
    id: uuid.UUID
    server_id: uuid.UUID
    project: str
    name: str
    git: bool
    """Built from GitHub or a Git URL: a finished build's commit is read back."""


async def sync(
    sessions: async_sessionmaker[AsyncSession], clients: ClientSource, limit: int = BATCH
) -> SyncReport:
    report = SyncReport()
    for app in await _claim(sessions, limit):
        await _follow(sessions, clients, app, report)
    return report


async def follow_app(
    sessions: async_sessionmaker[AsyncSession], clients: ClientSource, service_id: uuid.UUID
) -> SyncReport:
    """The sync's work for one app, at once (its page saw its deploy end)."""
    report = SyncReport()
    async with sessions() as session:
        found = (
            await session.execute(
                select(ContainerService, ContainerProject)
                .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
                .where(ContainerService.id == service_id)
            )
        ).first()
    if found is not None:
        await _follow(sessions, clients, _app_of(*found), report)
    return report


async def _follow(
    sessions: async_sessionmaker[AsyncSession],
    clients: ClientSource,
    app: _App,
    report: SyncReport,
) -> None:
    try:
        client = await clients.client_for(app.server_id)
        actions = await client.list_actions(app.project, app.name, limit=RECENT, type=DEPLOYMENT)
        ended = await _ended(client, sessions, app, actions)
        commit = await _commit(client, app) if app.git and ended else None
    except EasypanelError as exc:
        log.warning("deployments.sync_failed", service=f"{app.project}/{app.name}", error=str(exc))
        return
    async with transaction(sessions) as session:
        report.finished += await _finish(session, app, ended, commit)
        report.imported += await _import(session, app, actions)


async def _claim(sessions: async_sessionmaker[AsyncSession], limit: int) -> list[_App]:
    """The apps with a deployment due for a look (now stamped), and the GitHub apps that deploy
    on push."""
    now = clock.now()
    async with transaction(sessions) as session:
        due = (
            select(ServiceDeployment.id)
            .where(
                ServiceDeployment.status.in_(UNFINISHED),
                or_(
                    ServiceDeployment.checked_at.is_(None),
                    ServiceDeployment.checked_at < now - CHECK_EVERY,
                ),
            )
            .order_by(ServiceDeployment.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await session.scalars(
            update(ServiceDeployment)
            .where(ServiceDeployment.id.in_(due.scalar_subquery()))
            .values(checked_at=now)
            .returning(ServiceDeployment.service_id)
        )
        ids = set(claimed)
        pushing = ContainerService.configuration["source"]["auto_deploy"].as_boolean().is_(True)
        rows = await session.execute(
            select(ContainerService, ContainerProject)
            .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
            .where(
                ContainerService.service_type == "app",
                or_(ContainerService.id.in_(ids), pushing),
            )
        )
        return [_app_of(s, p) for s, p in rows]


def _app_of(service: ContainerService, project: ContainerProject) -> _App:
    return _App(
        service.id,
        project.server_id,
        project.easypanel_project_name,
        service.easypanel_service_name,
        (service.configuration.get("source") or {}).get("type") in ("github", "git"),
    )


async def _ended(
    client: EasypanelClient,
    sessions: async_sessionmaker[AsyncSession],
    app: _App,
    actions: list[Action],
) -> dict[str, Action]:
    """The app's unfinished deployments' actions that have ended, with their logs."""
    async with sessions() as session:
        watched = list(
            await session.scalars(
                select(ServiceDeployment.easypanel_action_id).where(
                    ServiceDeployment.service_id == app.id,
                    ServiceDeployment.status.in_(UNFINISHED),
                    ServiceDeployment.easypanel_action_id.is_not(None),
                )
            )
        )
    listed = {action.id: action for action in actions}
    ended = {}
    for action_id in watched:
        assert action_id is not None
        seen = listed.get(action_id) or await client.get_action(action_id)
        if seen.status in ENDED:
            ended[action_id] = await client.get_action(action_id)
    return ended


async def _commit(client: EasypanelClient, app: _App) -> str | None:
    """The commit the app's newest build ran (`commit.sha` of the service, contract §4.1)."""
    found = (await client.inspect_app(app.project, app.name)).model_extra or {}
    commit = found.get("commit")
    sha = commit.get("sha") if isinstance(commit, dict) else None
    return str(sha) if sha else None


async def _finish(
    session: AsyncSession, app: _App, ended: dict[str, Action], commit: str | None = None
) -> list[uuid.UUID]:
    """End the deployments whose action ended; the newest one gets `commit` when it ran one."""
    service = await session.get(ContainerService, app.id, with_for_update=True)
    if service is None or not ended:
        return []
    rows = await session.scalars(
        select(ServiceDeployment)
        .where(
            ServiceDeployment.service_id == app.id,
            ServiceDeployment.easypanel_action_id.in_(list(ended)),
            ServiceDeployment.status.in_(UNFINISHED),
        )
        .with_for_update()
    )
    newest = await session.scalar(
        select(ServiceDeployment.id)
        .where(ServiceDeployment.service_id == app.id)
        .order_by(ServiceDeployment.created_at.desc())
        .limit(1)
    )
    finished = []
    for deployment in rows:
        action = ended[str(deployment.easypanel_action_id)]
        deployment.status = ENDED[action.status]
        deployment.finished_at = action_time(action.updated_at) or clock.now()
        deployment.log = readable_log(service, action.log or "")
        finished.append(deployment.id)
        if deployment.id == newest:
            if deployment.status == "done" and commit and deployment.commit is None:
                deployment.commit = commit
            await _settle(session, service, deployment)
    return finished


async def _settle(
    session: AsyncSession, service: ContainerService, deployment: ServiceDeployment
) -> None:
    """The newest deployment ended: the service runs, or shows that the deploy failed."""
    project = await session.get(ContainerProject, service.project_id)
    assert project is not None
    if deployment.status == "done":
        if service.status == "deploying":
            service.status, service.last_error = "running", None
        await notices.record(
            session,
            [
                notices.Fact(
                    "service.deployed",
                    f"service.deployed:{deployment.id}",
                    {
                        "serviceId": str(service.id),
                        "project": project.easypanel_project_name,
                        "service": service.easypanel_service_name,
                        "type": service.service_type,
                        "deploymentId": str(deployment.id),
                    },
                    service.organization_id,
                )
            ],
        )
        return
    service.status = "failed"
    service.last_error = "The deploy failed: its log says why"
    await emit(
        session,
        "service.deploy_failed",
        dedupe_key=f"deploy_failed:{deployment.id}",
        organization_id=service.organization_id,
        data={
            "service": service.service_name,
            "project": project.project_name,
            "reason": "the build or deploy failed; see the deployment's log",
        },
    )


async def _import(session: AsyncSession, app: _App, actions: list[Action]) -> list[uuid.UUID]:
    """Record the deployment actions newer than the newest one SkyPanel knows, unless one of
    its own deploys has not got its action yet (that newer action may be it)."""
    known = set(
        await session.scalars(
            select(ServiceDeployment.easypanel_action_id).where(
                ServiceDeployment.service_id == app.id
            )
        )
    )
    waiting = await session.scalar(
        select(ServiceDeployment.id).where(
            ServiceDeployment.service_id == app.id,
            ServiceDeployment.status.in_(UNFINISHED),
            ServiceDeployment.easypanel_action_id.is_(None),
        )
    )
    ids = [action.id for action in actions]
    anchor = next((i for i, action_id in enumerate(ids) if action_id in known), None)
    if waiting is not None or anchor is None:
        return []
    service = await session.get(ContainerService, app.id)
    if service is None:
        return []
    imported = []
    for action in reversed(actions[:anchor]):
        started = action_time(action.created_at) or clock.now()
        status = ENDED.get(action.status, "running")
        row = await session.scalar(
            insert(ServiceDeployment)
            .values(
                id=uuid.uuid4(),
                service_id=app.id,
                organization_id=service.organization_id,
                trigger="git_push",
                status=status,
                easypanel_action_id=action.id,
                created_at=started,
                started_at=started,
                finished_at=None if status == "running" else action_time(action.updated_at),
            )
            .on_conflict_do_nothing()
            .returning(ServiceDeployment.id)
        )
        if row is not None:
            imported.append(row)
    return imported
