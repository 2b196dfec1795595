"""Deployments over HTTP: an app's history and logs, redeploys and rollbacks, its build and
push-deploy settings and deploy hook, and the public URL a git push calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, status

from skypanel.deployments import service, sync
from skypanel.deployments.schemas import (
    AutoDeployIn,
    BuildIn,
    BuildOut,
    DeployHookOut,
    DeploymentLogOut,
    DeploymentOut,
    HookDeployOut,
    RedeployIn,
)
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.kit.schema import ApiModel
from skypanel.kit.uow import release
from skypanel.models import EasypanelOperation, ServiceDeployment
from skypanel.models.deployments import UNFINISHED
from skypanel.operations.schemas import OperationRef
from skypanel.operations.service import operation_ref
from skypanel.organizations.auth import CurrentOrg

router = APIRouter(
    prefix="/api/containers/projects/{project_name}/services/{service_name}",
    tags=["deployments"],
)
hooks_router = APIRouter(prefix="/api/hooks/deploy", tags=["deployments"])


class AutoDeployOut(ApiModel):
    enabled: bool
    operation: OperationRef


class DeployHookStateOut(ApiModel):
    enabled: bool


def view(row: ServiceDeployment, operation: EasypanelOperation | None = None) -> DeploymentOut:
    out = DeploymentOut.model_validate(row)
    return (
        out if operation is None else out.model_copy(update={"operation": operation_ref(operation)})
    )


@router.get("/deployments", response_model=list[DeploymentOut], responses=responses(401, 404, 422))
async def list_deployments(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> list[DeploymentOut]:
    """The app's deployments, newest first (the last 50)."""
    _, app = await service.app(session, org, project_name, service_name)
    return [view(row) for row in await service.history(session, app)]


@router.post(
    "/deployments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentOut,
    responses=responses(401, 402, 404, 409, 422),
)
async def redeploy(
    project_name: str,
    service_name: str,
    org: CurrentOrg,
    session: Session,
    body: Annotated[RedeployIn | None, Body()] = None,
) -> DeploymentOut:
    """Deploy the app again; `{"image": "nginx:1.28"}` moves an image-sourced app to a new
    image (tag) first. The answer comes at once; follow the deployment until it ends."""
    image = body.image if body is not None else None
    return view(*await service.redeploy(session, org, project_name, service_name, image))


@router.get(
    "/deployments/{deployment_id}",
    response_model=DeploymentOut,
    responses=responses(401, 404, 422),
)
async def get_deployment(
    project_name: str,
    service_name: str,
    deployment_id: str,
    org: CurrentOrg,
    session: Session,
) -> DeploymentOut:
    _, app = await service.app(session, org, project_name, service_name)
    return view(await service.get(session, app, deployment_id))


@router.get(
    "/deployments/{deployment_id}/log",
    response_model=DeploymentLogOut,
    responses=responses(401, 404, 422, 502),
)
async def deployment_log(
    request: Request,
    project_name: str,
    service_name: str,
    deployment_id: str,
    org: CurrentOrg,
    session: Session,
) -> DeploymentLogOut:
    """The build and deploy log (secret values redacted): read live from Easypanel while the
    deploy runs (`live`: read it again), kept once it ended."""
    project, app = await service.app(session, org, project_name, service_name)
    row = await service.get(session, app, deployment_id)
    if row.status not in UNFINISHED or row.easypanel_action_id is None:
        return DeploymentLogOut(
            id=row.id, status=row.status, live=row.status in UNFINISHED, log=row.log or ""
        )
    await release(session)
    state = request.app.state
    client = await state.clients.client_for(project.server_id)
    action = await client.get_action(row.easypanel_action_id)
    if action.status in sync.ENDED:
        # It ended since the last sync: record its end now, so the page shows it at once.
        await sync.follow_app(state.sessions, state.clients, app.id)
        return DeploymentLogOut(
            id=row.id,
            status=sync.ENDED[action.status],
            live=False,
            log=service.readable_log(app, action.log or ""),
        )
    return DeploymentLogOut(
        id=row.id, status=row.status, live=True, log=service.readable_log(app, action.log or "")
    )


@router.post(
    "/deployments/{deployment_id}/rollback",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentOut,
    responses=responses(401, 402, 404, 409, 422),
)
async def rollback(
    project_name: str,
    service_name: str,
    deployment_id: str,
    org: CurrentOrg,
    session: Session,
) -> DeploymentOut:
    """Deploy the image that deployment ran (it must have succeeded)."""
    return view(*await service.rollback(session, org, project_name, service_name, deployment_id))


@router.get("/build", response_model=BuildOut, responses=responses(401, 404, 422))
async def get_build(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> BuildOut:
    """How the app is built from its source (`build: null`: Easypanel's default)."""
    _, app = await service.app(session, org, project_name, service_name)
    return BuildOut(build=service.build_settings(app))


@router.put(
    "/build",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BuildOut,
    responses=responses(401, 402, 404, 409, 422),
)
async def update_build(
    project_name: str, service_name: str, body: BuildIn, org: CurrentOrg, session: Session
) -> BuildOut:
    """Replace the build settings; the next deploy builds with them."""
    app, operation = await service.update_build(session, org, project_name, service_name, body)
    return BuildOut(build=service.build_settings(app), operation=operation_ref(operation))


@router.put(
    "/auto-deploy",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AutoDeployOut,
    responses=responses(401, 402, 404, 409, 422),
)
async def set_auto_deploy(
    project_name: str, service_name: str, body: AutoDeployIn, org: CurrentOrg, session: Session
) -> AutoDeployOut:
    """GitHub apps: let Easypanel deploy on every push to the branch (its GitHub webhook)."""
    _, operation = await service.set_auto_deploy(
        session, org, project_name, service_name, body.enabled
    )
    return AutoDeployOut(enabled=body.enabled, operation=operation_ref(operation))


@router.get("/deploy-hook", response_model=DeployHookStateOut, responses=responses(401, 404, 422))
async def get_deploy_hook(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> DeployHookStateOut:
    """Whether the app has a deploy hook (its URL is shown only when made)."""
    _, app = await service.app(session, org, project_name, service_name)
    return DeployHookStateOut(enabled=await service.hook_of(session, app) is not None)


@router.post(
    "/deploy-hook",
    status_code=status.HTTP_201_CREATED,
    response_model=DeployHookOut,
    responses=responses(401, 403, 404, 422),
)
async def create_deploy_hook(
    project_name: str, service_name: str, org: CurrentOrg, session: Session, settings: AppSettings
) -> DeployHookOut:
    """A new deploy hook URL (owners, admins); the previous one stops working. Add it as a
    webhook of your git host: every push deploys the app."""
    url = await service.create_hook(session, org, project_name, service_name, settings.public_url)
    return DeployHookOut(url=url)


@router.delete(
    "/deploy-hook",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
)
async def delete_deploy_hook(
    project_name: str, service_name: str, org: CurrentOrg, session: Session
) -> None:
    await service.delete_hook(session, org, project_name, service_name)


@hooks_router.post(
    "/{token}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=HookDeployOut,
    responses=responses(402, 404, 409),
)
async def push(token: str, session: Session) -> HookDeployOut:
    """A git push (no login: the token is the secret) deploys the hook's app."""
    deployment, _ = await service.push(session, token)
    return HookDeployOut(deployment_id=deployment.id, status=deployment.status)
