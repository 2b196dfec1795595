"""Create, delete and configure projects; Easypanel follows through persisted operations."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock, envvars
from skypanel.kit.errors import Conflict, NotFound
from skypanel.models import ContainerProject, EasypanelOperation
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.projects import repository
from skypanel.projects.env import env_place
from skypanel.subscriptions.naming import (
    check_name,
    easypanel_project_name,
    free_candidate,
    sanitise,
)
from skypanel.subscriptions.service import require_active


class ProjectNotFound(NotFound):
    code = "PROJECT_NOT_FOUND"


class ProjectExists(Conflict):
    code = "PROJECT_EXISTS"


class ProjectNotEmpty(Conflict):
    code = "PROJECT_NOT_EMPTY"


async def get(
    session: AsyncSession, org: OrgContext, name: str, *, lock: bool = False
) -> ContainerProject:
    project = await repository.by_name(session, org.id, name, lock=lock)
    if project is None:
        raise ProjectNotFound(f"No project named {name}")
    return project


async def create(
    session: AsyncSession, org: OrgContext, name: str, env: dict[str, str]
) -> tuple[ContainerProject, EasypanelOperation]:
    check_name(name, "projectName")
    subscription = await require_active(session, org.id)
    assert subscription.server_id is not None
    if await repository.by_name(session, org.id, name) is not None:
        raise ProjectExists(f"A project named {name} already exists", field="projectName")
    base = easypanel_project_name(sanitise(org.organization.slug), name)
    project = ContainerProject(
        id=uuid.uuid4(),
        organization_id=org.id,
        subscription_id=subscription.id,
        server_id=subscription.server_id,
        project_name=name,
        easypanel_project_name=await free_candidate(session, subscription.server_id, base),
        status="creating",
    )
    if env:
        project.env_encrypted = envvars.seal(envvars.validate(env), env_place(project.id))
    session.add(project)
    await session.flush()
    operation = await enqueue(
        session,
        "easypanel.project.create",
        project.easypanel_project_name,
        server_id=project.server_id,
        organization_id=org.id,
        payload={"base": project.easypanel_project_name},
        subject=("project", project.id),
        max_attempts=40,
    )
    await _log(session, org, project, "container.project.create", f"Project {name} created")
    return project, operation


async def delete(session: AsyncSession, org: OrgContext, name: str) -> EasypanelOperation:
    """An empty project is deleted on Easypanel, then (when that succeeded) in the database."""
    await require_active(session, org.id)
    project = await get(session, org, name, lock=True)
    services = await repository.services_of(session, project.id)
    if services:
        raise ProjectNotEmpty(
            f"Project {name} still has services; delete them first",
            services=[service.service_name for service in services],
        )
    project.status = "deleting"
    project.updated_at = clock.now()
    operation = await enqueue(
        session,
        "easypanel.project.destroy",
        project.easypanel_project_name,
        server_id=project.server_id,
        organization_id=org.id,
        subject=("project", project.id),
        max_attempts=40,
    )
    await _log(session, org, project, "container.project.delete", f"Project {name} deleted")
    return operation


async def update_env(
    session: AsyncSession, org: OrgContext, name: str, env: dict[str, str]
) -> tuple[ContainerProject, EasypanelOperation]:
    """Replace the project's shared variables (services see them after their next deploy)."""
    await require_active(session, org.id)
    project = await get(session, org, name, lock=True)
    project.env_encrypted = envvars.seal(envvars.validate(env), env_place(project.id))
    project.updated_at = clock.now()
    operation = await enqueue(
        session,
        "easypanel.project.env",
        project.easypanel_project_name,
        server_id=project.server_id,
        organization_id=org.id,
        subject=("project", project.id),
        dedupe_key=f"project-env:{project.id}:{uuid.uuid4()}",
    )
    await _log(
        session, org, project, "container.project.update", f"Variables of {name} updated", env
    )
    return project, operation


async def _log(
    session: AsyncSession,
    org: OrgContext,
    project: ContainerProject,
    event: str,
    message: str,
    env: dict[str, str] | None = None,
) -> None:
    await record(
        session,
        event,
        message,
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_project",
        entity_id=project.id,
        metadata={"keys": sorted(env)} if env is not None else None,
    )
