from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from skypanel.accounts.auth import verified_user
from skypanel.domains.service import default_address, service_domain
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.http.fastpath import ColdView
from skypanel.kit import envvars
from skypanel.kit.errors import AppError
from skypanel.kit.schema import ApiModel
from skypanel.kit.uow import release
from skypanel.models import (
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    EasypanelServer,
)
from skypanel.operations.schemas import OperationRef
from skypanel.operations.service import operation_ref
from skypanel.organizations.auth import CurrentOrg
from skypanel.organizations.cold import Shown, cold_read
from skypanel.organizations.context import OrgContext
from skypanel.projects.repository import services_of
from skypanel.projects.service import get as get_project
from skypanel.servers.degraded import refuse_when_down, server_of
from skypanel.servers.schemas import Degraded
from skypanel.services import logs, service, templated
from skypanel.services import status as live
from skypanel.services.schemas import (
    AppIn,
    ConnectionOut,
    DatabaseIn,
    EnvIn,
    LogsOut,
    ResourcesIn,
    ResourcesOut,
    ServiceOut,
    TemplateDeployIn,
)
from skypanel.services.secrets import (
    declared_secrets,
    secret_values,
    service_credentials,
    service_env,
)

router = APIRouter(prefix="/api/containers/projects/{project_name}/services", tags=["services"])
FOLLOW_SECONDS = 300
POLL_SECONDS = 2.0


def view(
    project: ContainerProject,
    item: ContainerService,
    *,
    reveal: bool = False,
    domain: str | None = None,
) -> ServiceOut:
    env = service_env(item)
    shown_env = env if reveal else envvars.masked(env, declared_secrets(item))
    return ServiceOut(
        id=item.id,
        project_name=project.project_name,
        service_name=item.service_name,
        easypanel_service_name=item.easypanel_service_name,
        service_type=item.service_type,
        status=item.status,
        status_message=live.sentence(item.status, item.last_error),
        address=default_address(project, item, domain),
        desired_state=item.desired_state,
        last_error=item.last_error,
        resources=ResourcesOut(
            cpu_cores=float(item.cpu_limit),
            memory_gb=float(item.memory_limit_gb),
            storage_gb=float(item.storage_limit_gb),
        ),
        configuration=item.configuration,
        env=shown_env,
        connection=_connection(project, item, reveal),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _connection(
    project: ContainerProject, item: ContainerService, reveal: bool
) -> ConnectionOut | None:
    if item.service_type == "app":
        return None
    config = item.configuration
    password = service_credentials(item).get("password", "")
    shown = password if reveal else envvars.MASK
    host = f"{project.easypanel_project_name}_{item.easypanel_service_name}"
    user, database, port = config.get("user"), config.get("database"), int(config["port"])
    scheme = {"postgres": "postgres", "mongo": "mongodb", "redis": "redis"}.get(
        item.service_type, "mysql"
    )
    account = f"{user or 'default'}:{shown}"
    path = f"/{database}" if database else ""
    return ConnectionOut(
        host=host,
        port=port,
        user=user,
        password=shown,
        database=database,
        url=f"{scheme}://{account}@{host}:{port}{path}",
    )


def _may_reveal(org: OrgContext, reveal: bool) -> bool:
    if reveal:
        org.require("owner", "admin")
    return reveal


@router.get("", response_model=list[ServiceOut], responses=responses(401, 404))
async def list_services(
    request: Request, project_name: str, org: CurrentOrg, session: Session
) -> list[ServiceOut]:
    """The project's services with their live status (one read of the server's task counts); as
    recorded, with `degraded`, while their server is down or does not answer."""
    project = await get_project(session, org, project_name)
    items = await services_of(session, project.id)
    domain = await service_domain(session, request.app.state.cache)
    seen = await _observed(request, session, project, items)
    return [
        _seen(view(project, item, domain=domain), observed, seen.degraded)
        for item, observed in zip(items, seen.observed, strict=True)
    ]


async def _observed(
    request: Request,
    session: Session,
    project: ContainerProject,
    items: Sequence[ContainerService],
) -> live.Live:
    state = request.app.state
    timing = live.Timing.of(state.settings)
    return await live.observe_services(session, state.clients, state.cache, timing, project, items)


def _seen(shown: ServiceOut, seen: live.Observed, degraded: Degraded | None) -> ServiceOut:
    """The answer with the status observed now; the record keeps what SkyPanel last did."""
    return shown.model_copy(
        update={
            "status": seen.status,
            "last_error": seen.error,
            "status_message": live.sentence(seen.status, seen.error),
            "degraded": degraded,
        }
    )


async def _accepted(
    session: Session,
    org: CurrentOrg,
    project_name: str,
    changed: tuple[ContainerService, EasypanelOperation],
) -> ServiceOut:
    """The service as recorded, with the operation that will carry the change out."""
    item, operation = changed
    project = await get_project(session, org, project_name)
    return view(project, item).model_copy(update={"operation": operation_ref(operation)})


@router.post(
    "/app",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 402, 403, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def deploy_app(
    project_name: str, body: AppIn, org: CurrentOrg, session: Session
) -> ServiceOut:
    """Deploy an app from an image, GitHub, a Git URL or a Dockerfile (quota-checked). The
    answer comes at once; follow the service (or its `operation`) until it is running."""
    created = await service.deploy_app(session, org, project_name, body)
    return await _accepted(session, org, project_name, created)


@router.post(
    "/database",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 402, 403, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def deploy_database(
    project_name: str, body: DatabaseIn, org: CurrentOrg, session: Session
) -> ServiceOut:
    """Deploy PostgreSQL, MySQL, MariaDB, MongoDB or Redis with generated credentials."""
    created = await service.deploy_database(session, org, project_name, body)
    return await _accepted(session, org, project_name, created)


class TemplateDeployOut(ApiModel):
    services: list[ServiceOut]
    inputs: dict[str, str]
    operation: OperationRef


@router.post(
    "/template",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TemplateDeployOut,
    responses=responses(401, 402, 403, 404, 409, 422),
    dependencies=[Depends(verified_user)],
)
async def deploy_template(
    project_name: str, body: TemplateDeployIn, org: CurrentOrg, session: Session
) -> TemplateDeployOut:
    """Deploy a one-click app; the response shows the final inputs (generated ones) once."""
    rows, operation, inputs = await templated.deploy_template(
        session, org, project_name, body.template_id, body.inputs, body.service_prefix
    )
    project = await get_project(session, org, project_name)
    return TemplateDeployOut(
        services=[view(project, row) for row in rows],
        inputs=inputs,
        operation=operation_ref(operation),
    )


@router.get("/{service_name}", response_model=ServiceOut, responses=responses(401, 403, 404))
async def get_service(
    request: Request,
    project_name: str,
    service_name: str,
    org: CurrentOrg,
    session: Session,
    reveal: bool = False,
) -> ServiceOut:
    """The service with its live status; `?reveal=true` (owners, admins) shows secret values.
    While its server is down or does not answer: as recorded, with `degraded` saying so."""
    project, item = await service.get(session, org, project_name, service_name)
    shown = _may_reveal(org, reveal)
    server = await server_of(session, project.server_id)
    return await _detail(request.app.state, session, (project, item, server), reveal=shown)


Found = tuple[ContainerProject, ContainerService, EasypanelServer]
"""A service with its project and its server."""


async def _detail(
    state: State,
    session: AsyncSession,
    found: Found,
    *,
    reveal: bool = False,
) -> ServiceOut:
    """The route's answer, on the full path and the fast one (`SERVICE`): the session is
    released before the server is asked."""
    project, item, server = found
    domain = await service_domain(session, state.cache)
    await release(session)
    timing = live.Timing.of(state.settings)
    seen = await live.observe_on(server, state.clients, state.cache, timing, project, [item])
    shown = view(project, item, reveal=reveal, domain=domain)
    return _seen(shown, seen.observed[0], seen.degraded)


_PROJECT = Shown(ContainerProject, "p_")
_SERVICE = Shown(ContainerService, "s_")
_SERVER = Shown(EasypanelServer, "e_")
_SERVICE_OUT = TypeAdapter(ServiceOut)


def _named(organization_id: ColumnElement[uuid.UUID]) -> Select[Any]:
    """The service the path names in the organization, with its project and server."""
    query = service.named(
        select(*_PROJECT.columns(), *_SERVICE.columns(), *_SERVER.columns()),
        organization_id,
        bindparam("project_name"),
        bindparam("service_name"),
    )
    return query.join(EasypanelServer, EasypanelServer.id == ContainerProject.server_id)


def _found(records: Sequence[Any]) -> Found | None:
    if not records:
        return None
    return _PROJECT.built(records[0]), _SERVICE.built(records[0]), _SERVER.built(records[0])


async def _answered(state: State, session: AsyncSession, found: Found) -> bytes | None:
    try:
        shown = await _detail(state, session, found)
    except AppError:
        # The route says it, in the error format (it asks Easypanel again, audited again).
        return None
    return _SERVICE_OUT.dump_json(shown, by_alias=True)


SERVICE: ColdView[Found] = ColdView(
    route=router.prefix + "/{service_name}",
    cold=cold_read(_named, _found, order=(_SERVICE.prefix + "id",)),
    answer=_answered,
)
"""`get_service` without `?reveal`, answered before the framework (`skypanel.http.fastpath`)."""


@router.post(
    "/{service_name}/{verb}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 402, 404, 409),
)
async def act(
    project_name: str,
    service_name: str,
    verb: Literal["start", "stop", "restart"],
    org: CurrentOrg,
    session: Session,
) -> ServiceOut:
    """Start, stop or restart (databases are enabled and disabled)."""
    acted = await service.act(session, org, project_name, service_name, verb)
    return await _accepted(session, org, project_name, acted)


@router.delete(
    "/{service_name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 404),
)
async def delete_service(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> ServiceOut:
    """Delete the service on Easypanel, then its record (which frees its quota)."""
    deleting = await service.delete(session, org, project_name, service_name)
    return await _accepted(session, org, project_name, deleting)


@router.put(
    "/{service_name}/env",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 402, 404, 422),
)
async def update_env(
    project_name: str,
    service_name: str,
    body: EnvIn,
    org: CurrentOrg,
    session: Session,
) -> ServiceOut:
    """Replace an app's variables and redeploy it."""
    updated = await service.update_env(
        session, org, project_name, service_name, body.env, body.secret_keys
    )
    return await _accepted(session, org, project_name, updated)


@router.put(
    "/{service_name}/resources",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ServiceOut,
    responses=responses(401, 402, 403, 404, 422),
)
async def update_resources(
    project_name: str,
    service_name: str,
    body: ResourcesIn,
    org: CurrentOrg,
    session: Session,
) -> ServiceOut:
    """Change CPU, memory and storage limits (quota-checked)."""
    updated = await service.update_resources(session, org, project_name, service_name, body)
    return await _accepted(session, org, project_name, updated)


@router.get(
    "/{service_name}/logs",
    response_model=LogsOut,
    responses={**responses(401, 404, 503), 200: {"content": {"text/event-stream": {}}}},
)
async def read_logs(
    request: Request,
    project_name: str,
    service_name: str,
    org: CurrentOrg,
    session: Session,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,20}$", description="`nextCursor` of a previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    follow: bool = False,
    follow_seconds: Annotated[int, Query(alias="followSeconds", ge=1, le=FOLLOW_SECONDS)] = (
        FOLLOW_SECONDS
    ),
) -> LogsOut | StreamingResponse:
    """A page of log lines (secret values redacted); `?follow=true` streams new ones as
    server-sent events (for `followSeconds`, at most five minutes). 503 `SERVER_DOWN` while the
    service's server is down."""
    project, item = await service.get(session, org, project_name, service_name)
    refuse_when_down(await server_of(session, project.server_id))
    await release(session)
    client = await request.app.state.clients.client_for(project.server_id)
    secrets = secret_values(item)

    async def page(after: str | None) -> LogsOut:
        return await logs.read(
            client,
            project.easypanel_project_name,
            item.easypanel_service_name,
            secrets=secrets,
            cursor=after,
            limit=limit,
            is_app=item.service_type == "app",
        )

    if not follow:
        return await page(cursor)

    async def stream() -> AsyncIterator[str]:
        after = cursor
        for _ in range(max(1, int(follow_seconds / POLL_SECONDS))):
            try:
                batch = await page(after)
            except Exception as exc:
                yield _error_event(exc, after)
                return
            if batch.lines or after is None:
                yield f"data: {json.dumps(batch.model_dump(mode='json'))}\n\n"
            after = batch.next_cursor
            if batch.source == "none" or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream")


def _error_event(exc: Exception, cursor: str | None) -> str:
    """The server-sent event that ends a followed log stream when Easypanel fails mid-way."""
    if isinstance(exc, AppError):
        error = exc.to_dict()["error"]
    else:
        error = {"code": "LOGS_UNAVAILABLE", "message": "The log source stopped answering"}
    error["details"] = {**error.get("details", {}), "cursor": cursor}
    return f"event: error\ndata: {json.dumps({'error': error}, default=str)}\n\n"
