"""Operations on single services: create (app, database), stop/start/restart, variables,
resources, deploy, destroy. Each reads the service's current row when delivered, so the latest
change wins, and treats "already exists" on a retry as its own earlier success.

An operation that deploys an app carries the id of its deployment record: once Easypanel took
the deploy, the record gets the newest deployment action of the app (the deployments sync then
follows that action to its end); an operation that fails for good fails its deployment."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, exists, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import (
    DATABASE_TYPES,
    DEPLOYMENT,
    EasypanelResourceExists,
    action_time,
    workload,
)
from skypanel.easypanel.schemas import (
    DATABASE_SPECS,
    AppSpec,
    DockerfileSource,
    DomainSpec,
    GithubSource,
    GitSource,
    ImageSource,
    PortSpec,
    Resources,
    VolumeMount,
    format_env,
)
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import (
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    ServiceDeployment,
)
from skypanel.models.deployments import UNFINISHED
from skypanel.notices import service as notices
from skypanel.notices.service import emit
from skypanel.operations.service import Handler, OperationContext
from skypanel.services.secrets import service_credentials, service_env


def _where(operation: EasypanelOperation) -> tuple[str, str, str]:
    payload = operation.payload
    return payload["type"], payload["project"], payload["service"]


async def _set(session: AsyncSession, operation: EasypanelOperation, **values: Any) -> None:
    if operation.subject_id is not None:
        await session.execute(
            update(ContainerService)
            .where(ContainerService.id == operation.subject_id)
            .values(**values, updated_at=clock.now())
        )


async def service_row(
    ctx: OperationContext, operation: EasypanelOperation
) -> ContainerService | None:
    async with ctx.sessions() as session:
        return await session.get(ContainerService, operation.subject_id)


def resources(service: ContainerService) -> Resources:
    """Easypanel's limits (cores, MB) from the declared ones; reservations stay free."""
    return Resources(
        cpu_limit=float(service.cpu_limit),
        cpu_reservation=0,
        memory_limit=float(service.memory_limit_gb * Decimal(1024)),
        memory_reservation=0,
    )


def app_spec(service: ContainerService) -> AppSpec:
    config = service.configuration
    source = dict(config["source"])
    kind = source.pop("type")
    if kind == "image":
        source["password"] = service_credentials(service).get("registryPassword")
        built: Any = ImageSource(**source)
    elif kind == "github":
        built = GithubSource(**source)
    elif kind == "git":
        built = GitSource(repo=source["url"], ref=source["ref"], path=source["path"])
    else:
        built = DockerfileSource(**source)
    return AppSpec(
        service_name=service.easypanel_service_name,
        source=built,
        env=format_env(service_env(service)),
        domains=[DomainSpec(**d) for d in config.get("domains", [])] or None,
        ports=[PortSpec(**p) for p in config.get("ports", [])] or None,
        mounts=[
            VolumeMount(name=m["name"], mount_path=m["mount_path"])
            for m in config.get("mounts", [])
        ]
        or None,
        resources=resources(service),
    )


async def _created(session: AsyncSession, operation: EasypanelOperation) -> None:
    running = operation.payload["type"] in DATABASE_TYPES
    await _set(
        session,
        operation,
        status="running" if running else "deploying",
        last_error=None,
        started_at=clock.now(),
        crash_looping_since=None,
    )
    await _told(session, operation, "service.deployed")


async def _told(session: AsyncSession, operation: EasypanelOperation, type: str) -> None:
    """`service.deployed|stopped|started|deleted` for the webhooks, once per operation."""
    kind, project, service = _where(operation)
    await notices.record(
        session,
        [
            notices.Fact(
                type,
                f"{type}:{operation.id}",
                {
                    "serviceId": str(operation.subject_id),
                    "project": project,
                    "service": service,
                    "type": kind,
                    "operationId": str(operation.id),
                },
                operation.organization_id,
            )
        ],
    )


_DOING = {
    "easypanel.app.create": "Creating the app",
    "easypanel.database.create": "Creating the database",
    "easypanel.service.stop": "Stopping",
    "easypanel.service.start": "Starting",
    "easypanel.service.restart": "Restarting",
    "easypanel.service.env": "Applying the variables",
    "easypanel.service.resources": "Applying the resource limits",
    "easypanel.service.deploy": "Deploying",
    "easypanel.service.build": "Applying the build settings",
    "easypanel.service.auto_deploy": "Changing push deploys",
    "easypanel.service.destroy": "Deleting",
}


async def failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    """The service shows that its last change did not happen, and why."""
    doing = _DOING.get(operation.kind, "The last change")
    reason = f"{doing} failed: {operation.last_error or 'no reason given'}"
    await _set(session, operation, status="failed", last_error=reason[:1000])
    if "deployment" in operation.payload:
        await session.execute(
            update(ServiceDeployment)
            .where(
                ServiceDeployment.id == operation.payload["deployment"],
                ServiceDeployment.status.in_(UNFINISHED),
            )
            .values(status="failed", finished_at=clock.now(), log=reason[:1000])
        )


async def _creation_failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    """As `failed`, and the organization's managers are told the service did not deploy."""
    await failed(session, operation)
    service = await session.get(ContainerService, operation.subject_id)
    if service is None:
        return
    project = await session.get(ContainerProject, service.project_id)
    assert project is not None
    await emit(
        session,
        "service.deploy_failed",
        dedupe_key=f"deploy_failed:{operation.id}",
        organization_id=service.organization_id,
        data={
            "service": service.service_name,
            "project": project.project_name,
            "reason": operation.last_error or "no reason given",
        },
    )


async def create_app(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    _, project, name = _where(operation)
    try:
        await ctx.client.create_app(project, app_spec(service))
    except EasypanelResourceExists:
        if operation.attempts == 1:
            raise
    await ctx.client.deploy_app(project, name)
    return {"deployed": True, "action": await _took(ctx, operation)}


async def _took(ctx: OperationContext, operation: EasypanelOperation) -> str | None:
    """Give the operation's deployment the app's newest deployment action; returns its id."""
    if "deployment" not in operation.payload or operation.subject_id is None:
        return None
    _, project, name = _where(operation)
    return await attach_action(
        ctx, uuid.UUID(operation.payload["deployment"]), operation.subject_id, project, name
    )


async def attach_action(
    ctx: OperationContext,
    deployment_id: uuid.UUID,
    service_id: uuid.UUID,
    project: str,
    name: str,
) -> str | None:
    """Give a deployment the app's newest deployment action on Easypanel (unless another
    deployment of the app has it already), so the deployments sync follows it to its end."""
    newest = await ctx.client.list_actions(project, name, limit=1, type=DEPLOYMENT)
    if not newest:
        return None
    action = newest[0]
    taken = exists().where(
        ServiceDeployment.service_id == service_id,
        ServiceDeployment.easypanel_action_id == action.id,
    )
    async with transaction(ctx.sessions) as session:
        await session.execute(
            update(ServiceDeployment)
            .where(
                ServiceDeployment.id == deployment_id,
                ServiceDeployment.status.in_(UNFINISHED),
                ~taken,
            )
            .values(
                easypanel_action_id=action.id,
                status="running",
                started_at=action_time(action.created_at) or clock.now(),
            )
        )
    return action.id


async def create_database(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    service_type, project, name = _where(operation)
    kind = workload.database_kind(service_type)
    assert kind is not None
    credentials = service_credentials(service)
    config = service.configuration
    spec_type = DATABASE_SPECS[kind]
    fields: dict[str, Any] = {
        "service_name": name,
        "password": credentials["password"],
        "resources": resources(service),
    }
    if config.get("version"):
        fields["image"] = f"{kind}:{config['version']}"
    if "database_name" in spec_type.model_fields and config.get("database"):
        fields["database_name"] = config["database"]
        fields["user"] = config["user"]
    if "root_password" in spec_type.model_fields:
        fields["root_password"] = credentials["rootPassword"]
    try:
        await ctx.client.create_database(project, spec_type(**fields))  # type: ignore[arg-type]
    except EasypanelResourceExists:
        if operation.attempts == 1:
            raise
    return {"created": True}


async def _stopped(session: AsyncSession, operation: EasypanelOperation) -> None:
    # A service stopped for breaking the safety rules keeps saying why (see reconcile).
    kept = case(
        (ContainerService.configuration.has_key("safetyStop"), ContainerService.last_error),
        else_=None,
    )
    await _set(session, operation, status="stopped", last_error=kept)
    await _told(session, operation, "service.stopped")


async def _started(session: AsyncSession, operation: EasypanelOperation) -> None:
    await _set(
        session,
        operation,
        status="running",
        last_error=None,
        started_at=clock.now(),
        crash_looping_since=None,
    )
    await _told(session, operation, "service.started")


async def stop_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    await workload.stop(ctx.client, *_where(operation))
    return {}


async def start_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    await workload.start(ctx.client, *_where(operation))
    return {}


async def restart_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    await workload.restart(ctx.client, *_where(operation))
    return {}


async def update_env(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """New variables take effect with a deploy, which this starts."""
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    _, project, name = _where(operation)
    await ctx.client.update_app_env(project, name, service_env(service))
    await ctx.client.deploy_app(project, name)
    return {"action": await _took(ctx, operation)}


async def deploy_app(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Redeploy the app, on the operation's `image` when it brings one (a new tag, a rollback)."""
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    _, project, name = _where(operation)
    image, commit = operation.payload.get("image"), operation.payload.get("commit")
    if image:
        await ctx.client.update_app_source_image(
            project,
            name,
            image,
            username=service.configuration["source"].get("username"),
            password=service_credentials(service).get("registryPassword"),
        )
    if commit:
        await _point_source(ctx, service, project, name, commit)
    await ctx.client.deploy_app(project, name)
    if commit:
        # The build has its commit; later pushes and redeploys follow the branch again.
        await _point_source(ctx, service, project, name, None)
    return {"action": await _took(ctx, operation)}


async def _point_source(
    ctx: OperationContext, service: ContainerService, project: str, name: str, ref: str | None
) -> None:
    """Set a git app's source to `ref` (a commit to build), or back to its configured branch;
    pointing a GitHub source turns Easypanel's push deploys off, so they are turned on again."""
    source = service.configuration["source"]
    wanted = ref or source["ref"]
    if source["type"] == "github":
        await ctx.client.update_app_source_github(
            project,
            name,
            owner=source["owner"],
            repo=source["repo"],
            ref=wanted,
            path=source["path"],
        )
        if ref is None and source.get("auto_deploy"):
            await ctx.client.enable_github_deploy(project, name)
    else:
        await ctx.client.update_app_source_git(
            project, name, repo=source["url"], ref=wanted, path=source["path"]
        )


async def _deploying(session: AsyncSession, operation: EasypanelOperation) -> None:
    """Easypanel took the deploy: the service deploys (and counts as starting) from now."""
    await _set(
        session,
        operation,
        status="deploying",
        last_error=None,
        started_at=clock.now(),
        crash_looping_since=None,
    )


async def update_resources(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    service_type, project, name = _where(operation)
    limits = resources(service)
    kind = workload.database_kind(service_type)
    if kind is not None:
        await ctx.client.update_database_resources(kind, project, name, limits)
    else:
        await ctx.client.update_app_resources(project, name, limits)
    return {}


async def _destroyed(session: AsyncSession, operation: EasypanelOperation) -> None:
    if operation.subject_id is not None:
        await session.execute(
            delete(ContainerService).where(ContainerService.id == operation.subject_id)
        )
    await _told(session, operation, "service.deleted")


async def destroy_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    return {"removed": await workload.destroy(ctx.client, *_where(operation))}


HANDLERS: dict[str, Handler] = {
    "easypanel.app.create": Handler(create_app, on_success=_created, on_failure=_creation_failed),
    "easypanel.database.create": Handler(
        create_database, on_success=_created, on_failure=_creation_failed
    ),
    "easypanel.service.stop": Handler(stop_service, on_success=_stopped, on_failure=failed),
    "easypanel.service.start": Handler(start_service, on_success=_started, on_failure=failed),
    "easypanel.service.restart": Handler(restart_service, on_success=_started, on_failure=failed),
    "easypanel.service.env": Handler(update_env, on_success=_deploying, on_failure=failed),
    "easypanel.service.deploy": Handler(deploy_app, on_success=_deploying, on_failure=failed),
    "easypanel.service.resources": Handler(update_resources, on_failure=failed),
    "easypanel.service.destroy": Handler(destroy_service, on_success=_destroyed, on_failure=failed),
}
