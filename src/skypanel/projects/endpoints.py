from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts.auth import verified_user
from skypanel.http.caching import CachedRead
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit import envvars
from skypanel.models import ContainerProject, EasypanelOperation
from skypanel.operations.service import operation_ref
from skypanel.organizations.auth import CurrentOrg
from skypanel.organizations.cold import cold_read
from skypanel.organizations.context import OrgContext
from skypanel.projects import repository, service
from skypanel.projects.env import project_env
from skypanel.projects.schemas import EnvIn, ProjectDetail, ProjectIn, ProjectOut, ServiceBrief
from skypanel.services import status as live

router = APIRouter(prefix="/api/containers/projects", tags=["projects"])


def _listed_out(rows: Sequence[Mapping[Any, Any]]) -> list[ProjectOut]:
    """The list's answer from `repository.listing`'s rows (the full path's and the cold read's)."""
    listed = []
    for row in rows:
        counts = dict(Counter(row["statuses"] or ()))
        listed.append(
            ProjectOut.model_validate(
                {**row, "service_count": sum(counts.values()), "services_by_status": counts}
            )
        )
    return listed


PROJECTS = CachedRead(
    "projects",
    30.0,
    TypeAdapter(list[ProjectOut]),
    path="/api/containers/projects",
    cold=cold_read(repository.listing, _listed_out, order=("created_at", "id")),
)


def _out(project: ContainerProject, counts: dict[str, int]) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        organization_id=project.organization_id,
        subscription_id=project.subscription_id,
        project_name=project.project_name,
        easypanel_project_name=project.easypanel_project_name,
        status=project.status,
        last_error=project.last_error,
        service_count=sum(counts.values()),
        services_by_status=counts,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


async def _detail(
    session: AsyncSession, project: ContainerProject, request: Request | None = None
) -> ProjectDetail:
    """The project and its services, with their live status when `request` is given (one read of
    the server's task counts; the answers to changes show what was recorded). While the server is
    down or does not answer the statuses are as recorded and `degraded` says so."""
    await session.flush()
    services = await repository.services_of(session, project.id)
    briefs = [ServiceBrief.model_validate(item) for item in services]
    degraded = None
    if request is not None:
        state = request.app.state
        timing = live.Timing.of(state.settings)
        seen = await live.observe_services(
            session, state.clients, state.cache, timing, project, services
        )
        degraded = seen.degraded
        briefs = [
            brief.model_copy(update={"status": observed.status, "last_error": observed.error})
            for brief, observed in zip(briefs, seen.observed, strict=True)
        ]
    counts: dict[str, int] = {}
    for brief in briefs:
        counts[brief.status] = counts.get(brief.status, 0) + 1
    return ProjectDetail(
        **_out(project, counts).model_dump(by_alias=False),
        services=briefs,
        env=envvars.masked(project_env(project)),
        degraded=degraded,
    )


async def _listed(session: AsyncSession, org: OrgContext) -> list[ProjectOut]:
    return _listed_out(await repository.listed(session, org.id))


async def projects_of(request: Request, org: OrgContext, session: AsyncSession) -> list[ProjectOut]:
    """The organization's projects with their services counted by status (cached 30 s)."""
    return await PROJECTS.value(request, PROJECTS.for_org(org.id), lambda: _listed(session, org))


@router.get("", response_model=list[ProjectOut], responses=responses(401, 404))
async def list_projects(request: Request, org: CurrentOrg, session: Session) -> Response:
    """The organization's projects with their services counted by status (cached 30 s)."""
    return await PROJECTS.response(request, PROJECTS.for_org(org.id), lambda: _listed(session, org))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ProjectDetail,
    responses=responses(401, 402, 403, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def create_project(body: ProjectIn, org: CurrentOrg, session: Session) -> ProjectDetail:
    """Create a project (needs an active subscription); Easypanel follows, see `operation`."""
    project, operation = await service.create(session, org, body.project_name, body.env)
    return await _accepted(session, project, operation)


async def _accepted(
    session: AsyncSession, project: ContainerProject, operation: EasypanelOperation
) -> ProjectDetail:
    detail = await _detail(session, project)
    return detail.model_copy(update={"operation": operation_ref(operation)})


@router.get("/{project_name}", response_model=ProjectDetail, responses=responses(401, 404))
async def get_project(
    request: Request, project_name: str, org: CurrentOrg, session: Session
) -> ProjectDetail:
    """A project with its services (their live status) and variables (secret values masked)."""
    return await _detail(session, await service.get(session, org, project_name), request)


@router.delete(
    "/{project_name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ProjectDetail,
    responses=responses(401, 402, 404, 409),
)
async def delete_project(project_name: str, org: CurrentOrg, session: Session) -> ProjectDetail:
    """Delete an empty project (409 PROJECT_NOT_EMPTY while it has services)."""
    project = await service.get(session, org, project_name)
    operation = await service.delete(session, org, project_name)
    return await _accepted(session, project, operation)


@router.put(
    "/{project_name}/env",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ProjectDetail,
    responses=responses(401, 402, 404, 422),
)
async def update_env(
    project_name: str, body: EnvIn, org: CurrentOrg, session: Session
) -> ProjectDetail:
    """Replace the project's shared environment variables (sent to Easypanel, see `operation`)."""
    project, operation = await service.update_env(session, org, project_name, body.env)
    return await _accepted(session, project, operation)
