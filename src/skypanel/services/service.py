"""Deploy, operate and remove services; each change is recorded, then delivered to Easypanel.

Every deployment and resource change checks the quota while holding the subscription's row lock
and reserves in the same transaction (the service row carries its limits), so concurrent
deployments can never together pass the plan's limits.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock, envvars
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.kit.tenancy import scoped
from skypanel.models import (
    ContainerPlan,
    ContainerProject,
    ContainerService,
    EasypanelOperation,
    ServiceDeployment,
)
from skypanel.operations.service import enqueue
from skypanel.organizations.context import OrgContext
from skypanel.projects.service import get as get_project
from skypanel.quotas import service as quotas
from skypanel.services import claims
from skypanel.services.claims import ServiceExists
from skypanel.services.schemas import AppIn, DatabaseIn, ResourcesIn
from skypanel.services.secrets import credentials_place, env_place
from skypanel.subscriptions.naming import check_name, swarm_name
from skypanel.subscriptions.service import require_active
from skypanel.templates.inputs import generate
from skypanel.templates.safety import check_app
from skypanel.templates.schemas import Generate

PASSWORD = Generate(kind="password", length=20)
DATABASE_DEFAULTS: dict[str, tuple[int, str | None]] = {
    "postgres": (5432, "postgres"),
    "mysql": (3306, "mysql"),
    "mariadb": (3306, "mariadb"),
    "mongo": (27017, "mongo"),
    "redis": (6379, None),
}


class ServiceNotFound(NotFound):
    code = "SERVICE_NOT_FOUND"


__all__ = ["ServiceExists"]


class NotSupported(InvalidInput):
    code = "NOT_SUPPORTED"


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def named(
    query: Q,
    organization_id: uuid.UUID | ColumnElement[uuid.UUID],
    project_name: str | BindParameter[str],
    service_name: str | BindParameter[str],
) -> Q:
    """`query` over projects, joined to their services, limited to the one service so named in
    the organization: the route's read (`get`) and the cold one (`services.endpoints.SERVICE`)."""
    return scoped(
        query.join_from(
            ContainerProject, ContainerService, ContainerService.project_id == ContainerProject.id
        ),
        ContainerProject,
        organization_id,
    ).where(
        ContainerProject.project_name == project_name,
        ContainerService.service_name == service_name,
    )


async def get(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerProject, ContainerService]:
    found = (
        await session.execute(
            named(select(ContainerProject, ContainerService), org.id, project_name, service_name)
        )
    ).first()
    if found is None:
        await get_project(session, org, project_name)
        raise ServiceNotFound(f"No service named {service_name} in {project_name}")
    return found[0], found[1]


async def _reserve(
    session: AsyncSession,
    org: OrgContext,
    project: ContainerProject,
    name: str,
    asked: ResourcesIn,
) -> quotas.Usage:
    subscription = await require_active(session, org.id)
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    check_name(name, "serviceName")
    swarm_name(project.easypanel_project_name, name)
    existing = await session.scalar(
        select(ContainerService.id).where(
            ContainerService.project_id == project.id, ContainerService.service_name == name
        )
    )
    if existing is not None:
        raise ServiceExists(f"{project.project_name} already has a service named {name}")
    used = await quotas.usage(session, org.id)
    default = quotas.fair_share(plan, used)
    wanted = quotas.Usage(
        cpu_cores=asked.cpu_cores or default.cpu_cores,
        memory_gb=asked.memory_gb or default.memory_gb,
        storage_gb=asked.storage_gb or default.storage_gb,
        containers=1,
    )
    quotas.check(plan, used, wanted)
    await quotas.warn_if_passed(session, org.id, plan, used, used + wanted, clock.now())
    return wanted


def _row(
    org: OrgContext, project: ContainerProject, name: str, kind: str, limits: quotas.Usage
) -> ContainerService:
    return ContainerService(
        id=uuid.uuid4(),
        project_id=project.id,
        organization_id=org.id,
        service_name=name,
        easypanel_service_name=name,
        server_id=project.server_id,
        swarm_name=swarm_name(project.easypanel_project_name, name),
        service_type=kind,
        status="creating",
        desired_state="running",
        cpu_limit=limits.cpu_cores,
        memory_limit_gb=limits.memory_gb,
        storage_limit_gb=limits.storage_gb,
    )


async def deploy_app(
    session: AsyncSession, org: OrgContext, project_name: str, data: AppIn
) -> tuple[ContainerService, EasypanelOperation]:
    project = await get_project(session, org, project_name)
    check_app(data.service_name, mounts=data.mounts, env=data.env)
    env = envvars.validate(data.env)
    limits = await _reserve(session, org, project, data.service_name, data.resources)
    hosts = await claims.check_domains(
        session,
        [
            claims.normalise_host(d.host, wildcard=bool(getattr(d, "wildcard", False)))
            for d in data.domains
        ],
    )
    ports = await claims.check_ports(
        session, project.server_id, (claims.Port(p.published, p.protocol) for p in data.ports)
    )
    service = _row(org, project, data.service_name, "app", limits)
    source = data.source.model_dump(by_alias=False, exclude={"password"})
    service.configuration = {
        "source": source,
        "domains": [
            d.model_dump(by_alias=False) | claims.as_easypanel(host)
            for d, host in zip(data.domains, hosts, strict=True)
        ],
        "ports": [p.model_dump(by_alias=False) for p in data.ports],
        "mounts": [m.model_dump(by_alias=False) for m in data.mounts],
        "secretKeys": sorted(set(data.secret_keys)),
    }
    service.env_encrypted = envvars.seal(env, env_place(service.id))
    password = getattr(data.source, "password", None)
    if password:
        service.credentials_encrypted = envvars.seal(
            {"registryPassword": password}, credentials_place(service.id)
        )
    return service, await _create(
        session,
        org,
        project,
        service,
        "easypanel.app.create",
        hosts=hosts,
        ports=ports,
        deploys=True,
    )


async def deploy_database(
    session: AsyncSession, org: OrgContext, project_name: str, data: DatabaseIn
) -> tuple[ContainerService, EasypanelOperation]:
    project = await get_project(session, org, project_name)
    limits = await _reserve(session, org, project, data.service_name, data.resources)
    service = _row(org, project, data.service_name, data.type, limits)
    port, user = DATABASE_DEFAULTS[data.type]
    database = data.service_name.replace("-", "_") if data.type not in ("redis",) else None
    service.configuration = {
        "version": data.version,
        "port": port,
        "user": user,
        "database": database,
    }
    service.credentials_encrypted = envvars.seal(
        {"password": generate(PASSWORD), "rootPassword": generate(PASSWORD)},
        credentials_place(service.id),
    )
    return service, await _create(session, org, project, service, "easypanel.database.create")


async def _create(
    session: AsyncSession,
    org: OrgContext,
    project: ContainerProject,
    service: ContainerService,
    kind: str,
    *,
    hosts: list[str] | None = None,
    ports: list[claims.Port] | None = None,
    deploys: bool = False,
) -> EasypanelOperation:
    session.add(service)
    await claims.flush_claims(session)
    claims.add_claims(session, service, project.server_id, hosts or [], ports or [])
    await claims.flush_claims(session)
    if deploys:
        _, operation = await queue_deploy(
            session, project, service, kind, "create", org.user.id, repeatable=False
        )
    else:
        operation = await queue_operation(
            session, org.id, project, service, kind, repeatable=False, max_attempts=20
        )
    await log(session, org, service, "container.service.create", f"{service.service_name} deployed")
    return operation


async def queue_operation(
    session: AsyncSession,
    organization_id: uuid.UUID,
    project: ContainerProject,
    service: ContainerService,
    kind: str,
    *,
    repeatable: bool = True,
    max_attempts: int = 8,
    payload: dict[str, Any] | None = None,
) -> EasypanelOperation:
    """The service's next Easypanel operation, delivered after the service's earlier ones and
    after whatever its project still waits for (its creation). A repeatable one (start, stop, a
    new env...) is never merged with an earlier one still in flight: each request is delivered,
    in the order they were made. `payload` adds to where the service is."""
    return await enqueue(
        session,
        kind,
        f"{project.easypanel_project_name}/{service.easypanel_service_name}",
        server_id=project.server_id,
        organization_id=organization_id,
        payload=_where(project, service) | (payload or {}),
        subject=("service", service.id),
        after=[("project", project.id)],
        dedupe_key=f"{kind}:{service.id}:{uuid.uuid4()}" if repeatable else None,
        max_attempts=max_attempts,
    )


def source_image(service: ContainerService) -> str | None:
    """The image an image-sourced app runs (None for code built from git or a Dockerfile)."""
    source = service.configuration.get("source") or {}
    image = source.get("image") if source.get("type") == "image" else None
    return str(image) if image else None


async def queue_deploy(
    session: AsyncSession,
    project: ContainerProject,
    service: ContainerService,
    kind: str,
    trigger: str,
    actor_id: uuid.UUID | None,
    *,
    image: str | None = None,
    commit: str | None = None,
    repeatable: bool = True,
) -> tuple[ServiceDeployment, EasypanelOperation]:
    """Record a deployment of the app and queue the operation that deploys it, in the caller's
    transaction; the operation records the Easypanel action it starts. `image` replaces the
    app's image first (the operation sets it on Easypanel before deploying); `commit` builds a
    git app at that commit, its branch staying what it was."""
    deployment = ServiceDeployment(
        id=uuid.uuid4(),
        service_id=service.id,
        organization_id=service.organization_id,
        trigger=trigger,
        actor_user_id=actor_id,
        image=image or source_image(service),
        commit=commit,
        status="pending",
        created_at=clock.now(),
    )
    extra: dict[str, Any] = {"deployment": str(deployment.id)}
    if image is not None:
        extra["image"] = image
    if commit is not None:
        extra["commit"] = commit
    operation = await queue_operation(
        session,
        service.organization_id,
        project,
        service,
        kind,
        repeatable=repeatable,
        max_attempts=20 if not repeatable else 8,
        payload=extra,
    )
    deployment.operation_id = operation.id
    session.add(deployment)
    return deployment, operation


def _where(project: ContainerProject, service: ContainerService) -> dict[str, Any]:
    return {
        "type": service.service_type,
        "project": project.easypanel_project_name,
        "service": service.easypanel_service_name,
    }


async def act(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str, verb: str
) -> tuple[ContainerService, EasypanelOperation]:
    """start, stop or restart (databases: enable, disable, or both)."""
    await require_active(session, org.id)
    project, service = await get(session, org, project_name, service_name)
    if service.status in ("creating", "deleting"):
        raise Conflict(f"{service_name} is being {service.status[:-3]}ed; try again shortly")
    service.desired_state = "stopped" if verb == "stop" else "running"
    service.status = {"start": "starting", "stop": "stopping", "restart": "restarting"}[verb]
    service.updated_at = clock.now()
    operation = await queue_operation(
        session, org.id, project, service, f"easypanel.service.{verb}"
    )
    await log(session, org, service, f"container.service.{verb}", f"{service_name}: {verb}")
    return service, operation


async def delete(
    session: AsyncSession, org: OrgContext, project_name: str, service_name: str
) -> tuple[ContainerService, EasypanelOperation]:
    await require_active(session, org.id)
    project, service = await get(session, org, project_name, service_name)
    service.status = "deleting"
    service.updated_at = clock.now()
    operation = await queue_operation(
        session,
        org.id,
        project,
        service,
        "easypanel.service.destroy",
        repeatable=False,
        max_attempts=40,
    )
    await log(session, org, service, "container.service.delete", f"{service_name} deleted")
    return service, operation


async def update_env(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    env: dict[str, str],
    secret_keys: list[str] | None,
) -> tuple[ContainerService, EasypanelOperation]:
    await require_active(session, org.id)
    project, service = await get(session, org, project_name, service_name)
    if service.service_type != "app":
        raise NotSupported("Databases are configured through their credentials, not variables")
    service.env_encrypted = envvars.seal(envvars.validate(env), env_place(service.id))
    service.status = "deploying"
    if secret_keys is not None:
        service.configuration = {**service.configuration, "secretKeys": sorted(set(secret_keys))}
    service.updated_at = clock.now()
    _, operation = await queue_deploy(
        session, project, service, "easypanel.service.env", "env", org.user.id
    )
    await log(
        session, org, service, "container.service.update", f"Variables of {service_name} updated"
    )
    return service, operation


async def update_resources(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    service_name: str,
    asked: ResourcesIn,
) -> tuple[ContainerService, EasypanelOperation]:
    subscription = await require_active(session, org.id)
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    project, service = await get(session, org, project_name, service_name)
    used = await quotas.usage(session, org.id)
    others = quotas.Usage(
        cpu_cores=used.cpu_cores - service.cpu_limit,
        memory_gb=used.memory_gb - service.memory_limit_gb,
        storage_gb=used.storage_gb - service.storage_limit_gb,
        containers=used.containers - 1,
    )
    wanted = quotas.Usage(
        cpu_cores=asked.cpu_cores or service.cpu_limit,
        memory_gb=asked.memory_gb or service.memory_limit_gb,
        storage_gb=asked.storage_gb or service.storage_limit_gb,
        containers=0,
    )
    quotas.check(plan, others, wanted)
    await quotas.warn_if_passed(session, org.id, plan, used, others + wanted, clock.now())
    service.cpu_limit, service.memory_limit_gb = wanted.cpu_cores, wanted.memory_gb
    service.storage_limit_gb = Decimal(wanted.storage_gb)
    service.updated_at = clock.now()
    operation = await queue_operation(
        session, org.id, project, service, "easypanel.service.resources"
    )
    await log(
        session, org, service, "container.service.update", f"Resources of {service_name} changed"
    )
    return service, operation


async def log(
    session: AsyncSession, org: OrgContext, service: ContainerService, event: str, message: str
) -> None:
    await record(
        session,
        event,
        message,
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_service",
        entity_id=service.id,
    )
