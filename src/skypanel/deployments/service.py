"""Deployments of apps: the history, redeploys (optionally on a new image), rollbacks, deploys
started by a git push to the service's deploy hook, and build and push-deploy settings.

Each change is recorded with the operation that carries it out, in the caller's transaction
(`services.service.queue_deploy`); the deployments sync follows the Easypanel action to its end.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.deployments.schemas import BuildIn
from skypanel.kit import clock
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.models import (
    ContainerProject,
    ContainerService,
    DeployHook,
    EasypanelOperation,
    ServiceDeployment,
)
from skypanel.organizations.context import OrgContext
from skypanel.services import service as services
from skypanel.services.logs import redact
from skypanel.services.secrets import (
    secret_values,
)
from skypanel.subscriptions.service import require_active

HISTORY_LIMIT = 50
HOOK_PATH = "/api/hooks/deploy/"
LOG_LIMIT = 64_000
"""Characters of a finished deployment's log that are kept (its end)."""


class DeploymentNotFound(NotFound):
    code = "DEPLOYMENT_NOT_FOUND"


class DeployHookNotFound(NotFound):
    code = "DEPLOY_HOOK_NOT_FOUND"


class NotAnApp(InvalidInput):
    code = "NOT_AN_APP"


class ImageNotApplicable(InvalidInput):
    code = "IMAGE_NOT_APPLICABLE"


class NotGithub(InvalidInput):
    code = "NOT_A_GITHUB_SOURCE"


class RollbackNotPossible(Conflict):
    code = "ROLLBACK_NOT_POSSIBLE"


class ServiceBusy(Conflict):
    code = "SERVICE_BUSY"


def readable_log(service: ContainerService, log: str) -> str:
    """A build log as customers see it: the service's secret values redacted, and only its last
    `LOG_LIMIT` characters."""
    return redact(log, secret_values(service))[-LOG_LIMIT:]


async def app(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService]:
    """The organization's app of that name (databases have no deployments)."""
    project, service = await services.get(session, org, project_name, service_name)
    if service.service_type != "app":
        raise NotAnApp(
            f"{service_name} is a {service.service_type} database; only apps are deployed",
            field="serviceName",
        )
    return project, service


async def history(
    session: AsyncSession, service: ContainerService, limit: int = HISTORY_LIMIT
) -> list[ServiceDeployment]:
    """The app's deployments, newest first."""
    rows = await session.scalars(
        select(ServiceDeployment)
        .where(ServiceDeployment.service_id == service.id)
        .order_by(ServiceDeployment.created_at.desc(), ServiceDeployment.id)
        .limit(limit)
    )
    return list(rows)


async def get(
    session: AsyncSession, service: ContainerService, deployment_id: str
) -> ServiceDeployment:
    try:
        wanted = uuid.UUID(deployment_id)
    except ValueError:
        wanted = None
    found = None
    if wanted is not None:
        found = await session.scalar(
            select(ServiceDeployment).where(
                ServiceDeployment.id == wanted,
                ServiceDeployment.service_id == service.id,
                ServiceDeployment.organization_id == service.organization_id,
            )
        )
    if found is None:
        raise DeploymentNotFound(
            f"{service.service_name} has no deployment {deployment_id}", field="deploymentId"
        )
    return found


def _ready(service: ContainerService) -> None:
    if service.status in ("creating", "deleting"):
        raise ServiceBusy(
            f"{service.service_name} is being {service.status[:-3]}ed; deploy it once that ends"
        )


async def _deploy(
    session: AsyncSession,
    project: ContainerProject,
    service: ContainerService,
    trigger: str,
    actor: uuid.UUID | None,
    image: str | None = None,
    *,
    commit: str | None = None,
) -> tuple[ServiceDeployment, EasypanelOperation]:
    _ready(service)
    if image is not None:
        source = service.configuration["source"]
        service.configuration = {**service.configuration, "source": {**source, "image": image}}
    service.status, service.desired_state = "deploying", "running"
    service.updated_at = clock.now()
    return await services.queue_deploy(
        session,
        project,
        service,
        "easypanel.service.deploy",
        trigger,
        actor,
        image=image,
        commit=commit,
    )


async def redeploy(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    image: str | None,
) -> tuple[ServiceDeployment, EasypanelOperation]:
    """Deploy the app again; an image-sourced app may take a new `image` (a new tag) on the way."""
    project, service = await app(session, org, project_name, service_name)
    await require_active(session, org.id)
    current = services.source_image(service)
    if image is not None and current is None:
        raise ImageNotApplicable(
            f"{service_name} is built from its source, not run from an image; omit image",
            field="image",
        )
    changed = image is not None and image != current
    deployed = await _deploy(
        session,
        project,
        service,
        "image" if changed else "redeploy",
        org.user.id,
        image if changed else None,
    )
    what = f"on {image}" if changed else "again"
    await services.log(session, org, service, "container.service.deploy", f"{service_name} {what}")
    return deployed


async def rollback(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    deployment_id: str,
) -> tuple[ServiceDeployment, EasypanelOperation]:
    """Deploy the image an earlier successful deployment ran."""
    project, service = await app(session, org, project_name, service_name)
    await require_active(session, org.id)
    target = await get(session, service, deployment_id)
    if target.status != "done":
        raise RollbackNotPossible(
            f"Deployment {deployment_id} did not succeed ({target.status}); pick one that did",
            field="deploymentId",
        )
    source = service.configuration.get("source") or {}
    if source.get("type") in ("github", "git") and target.commit:
        deployed = await _deploy(
            session, project, service, "rollback", org.user.id, commit=target.commit
        )
        what = f"commit {target.commit[:12]}"
    elif target.image is not None and services.source_image(service) is not None:
        deployed = await _deploy(session, project, service, "rollback", org.user.id, target.image)
        what = target.image
    else:
        raise RollbackNotPossible(
            f"Deployment {deployment_id} has no image or commit to deploy again"
            " (an app built from an inline Dockerfile, or a build whose commit is unknown)",
            field="deploymentId",
        )
    await services.log(
        session, org, service, "container.service.deploy", f"{service_name} rolled back to {what}"
    )
    return deployed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_hook(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, public_url: str
) -> str:
    """A new push URL for the app (the old one, if any, stops working); shown only once."""
    org.require("owner", "admin")
    _, service = await app(session, org, project_name, service_name)
    await session.execute(delete(DeployHook).where(DeployHook.service_id == service.id))
    token = secrets.token_urlsafe(32)
    session.add(
        DeployHook(
            service_id=service.id,
            organization_id=org.id,
            token_hash=_digest(token),
            created_at=clock.now(),
        )
    )
    await services.log(
        session, org, service, "container.service.update", f"Deploy hook of {service_name} set"
    )
    return f"{public_url.rstrip('/')}{HOOK_PATH}{token}"


async def hook_of(session: AsyncSession, service: ContainerService) -> DeployHook | None:
    return await session.get(DeployHook, service.id)


async def delete_hook(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> None:
    org.require("owner", "admin")
    _, service = await app(session, org, project_name, service_name)
    if await hook_of(session, service) is None:
        raise DeployHookNotFound(f"{service_name} has no deploy hook")
    await session.execute(delete(DeployHook).where(DeployHook.service_id == service.id))
    await services.log(
        session, org, service, "container.service.update", f"Deploy hook of {service_name} removed"
    )


async def push(session: AsyncSession, token: str) -> tuple[ServiceDeployment, EasypanelOperation]:
    """A push reached the deploy hook with this token: deploy its app."""
    hook = await session.scalar(select(DeployHook).where(DeployHook.token_hash == _digest(token)))
    service = None if hook is None else await session.get(ContainerService, hook.service_id)
    if service is None:
        raise DeployHookNotFound("No deploy hook has this address")
    await require_active(session, service.organization_id)
    project = await session.get(ContainerProject, service.project_id)
    assert project is not None
    return await _deploy(session, project, service, "git_push", None)


def build_settings(service: ContainerService) -> dict[str, str] | None:
    build: dict[str, str] | None = service.configuration.get("build")
    return build


async def update_build(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, build: BuildIn
) -> tuple[ContainerService, EasypanelOperation]:
    """New build settings; the next deploy builds with them."""
    project, service = await app(session, org, project_name, service_name)
    await require_active(session, org.id)
    _ready(service)
    wire: dict[str, Any] = build.model_dump(exclude_none=True, by_alias=True)
    service.configuration = {**service.configuration, "build": wire}
    service.updated_at = clock.now()
    operation = await services.queue_operation(
        session, org.id, project, service, "easypanel.service.build"
    )
    await services.log(
        session, org, service, "container.service.update", f"Build of {service_name}: {build.type}"
    )
    return service, operation


async def set_auto_deploy(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, enabled: bool
) -> tuple[ContainerService, EasypanelOperation]:
    """Let Easypanel deploy a GitHub app on every push to its branch (or stop it)."""
    project, service = await app(session, org, project_name, service_name)
    await require_active(session, org.id)
    _ready(service)
    source = service.configuration["source"]
    if source.get("type") != "github":
        raise NotGithub(
            f"{service_name} is not built from GitHub; use its deploy hook instead",
            field="enabled",
        )
    service.configuration = {
        **service.configuration,
        "source": {**source, "auto_deploy": enabled},
    }
    service.updated_at = clock.now()
    operation = await services.queue_operation(
        session, org.id, project, service, "easypanel.service.auto_deploy"
    )
    state = "on" if enabled else "off"
    await services.log(
        session, org, service, "container.service.update", f"Push deploys of {service_name} {state}"
    )
    return service, operation
