"""Deploy a template: render it with the user's inputs, check the quota for all of its services
at once, record each service, and create them together with templates.createFromSchema."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import EasypanelResourceExists
from skypanel.easypanel.schemas import ImageSource, TemplateApp, TemplateService
from skypanel.easypanel.workload import database_kind
from skypanel.kit import clock, envvars
from skypanel.kit.errors import NotFound
from skypanel.models import ContainerPlan, ContainerService, EasypanelOperation, ServiceDeployment
from skypanel.operations.service import Handler, OperationContext
from skypanel.organizations.context import OrgContext
from skypanel.projects.service import get as get_project
from skypanel.quotas import service as quotas
from skypanel.services import claims, service
from skypanel.services.operations import attach_action
from skypanel.services.secrets import credentials_place, env_place, service_credentials
from skypanel.subscriptions.naming import check_name, sanitise, swarm_name
from skypanel.subscriptions.service import require_active
from skypanel.templates import repository as templates
from skypanel.templates.render import render_template

SPECS = TypeAdapter(list[TemplateService])
SPECS_KEY = "templateSpecs"


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"


async def deploy_template(
    session: AsyncSession,
    org: OrgContext,
    project_name: str,
    template_id: uuid.UUID,
    inputs: dict[str, Any],
    prefix: str | None,
) -> tuple[list[ContainerService], EasypanelOperation, dict[str, str]]:
    """Returns the services, the operation, and the final inputs (generated ones included,
    shown to the user once)."""
    project = await get_project(session, org, project_name)
    template = await templates.get(session, template_id)
    if template is None or not template.enabled:
        raise TemplateNotFound("No such template")
    subscription = await require_active(session, org.id)
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    if prefix is not None:
        check_name(prefix, "servicePrefix")
    rendered = render_template(
        template,
        inputs,
        project_name=project.easypanel_project_name,
        service_prefix=sanitise(prefix or template.template_name, 20),
    )
    names = [check_name(item.name, "servicePrefix") for item in rendered.services]
    swarm_names = {name: swarm_name(project.easypanel_project_name, name) for name in names}
    taken = await session.scalars(
        select(ContainerService.service_name).where(
            ContainerService.project_id == project.id, ContainerService.service_name.in_(names)
        )
    )
    clash = sorted(taken)
    if clash:
        raise service.ServiceExists(
            f"{project_name} already has {', '.join(clash)}", services=clash
        )
    quotas.check(
        plan,
        await quotas.usage(session, org.id),
        quotas.Usage(
            cpu_cores=sum((s.cpu_cores for s in rendered.services), Decimal(0)),
            memory_gb=sum((s.memory_gb for s in rendered.services), Decimal(0)),
            storage_gb=sum((s.storage_gb for s in rendered.services), Decimal(0)),
            containers=len(rendered.services),
        ),
    )
    hosts, ports = await _claims(session, project.server_id, rendered.specs)
    rows = []
    for item in rendered.services:
        row = ContainerService(
            id=uuid.uuid4(),
            project_id=project.id,
            organization_id=org.id,
            service_name=item.name,
            easypanel_service_name=item.name,
            server_id=project.server_id,
            swarm_name=swarm_names[item.name],
            service_type=item.type,
            status="creating",
            desired_state="running",
            cpu_limit=item.cpu_cores,
            memory_limit_gb=item.memory_gb,
            storage_limit_gb=item.storage_gb,
            configuration={
                "template": template.template_name,
                "secretKeys": sorted(item.secret_keys),
                **_connection_facts(item.credentials),
            },
        )
        row.env_encrypted = envvars.seal(item.env, env_place(row.id))
        rows.append((row, dict(item.credentials)))
    anchor = rows[0][0]
    rows[0][1][SPECS_KEY] = SPECS.dump_json(rendered.specs, by_alias=True).decode()
    for row, credentials in rows:
        row.configuration = {**row.configuration, "templateGroup": str(anchor.id)}
        row.credentials_encrypted = envvars.seal(credentials, credentials_place(row.id))
        session.add(row)
    await claims.flush_claims(session)
    by_name = {row.easypanel_service_name: row for row, _ in rows}
    for name, row in by_name.items():
        claims.add_claims(session, row, project.server_id, hosts.get(name, []), ports.get(name, []))
    await claims.flush_claims(session)
    operation = await service.queue_operation(
        session, org.id, project, anchor, "easypanel.template.create", repeatable=False
    )
    deployments = _deployments(org, operation, rendered.specs, by_name)
    session.add_all(deployments.values())
    operation.payload = {
        **operation.payload,
        "name": template.display_name,
        "deployments": {name: str(d.id) for name, d in deployments.items()},
    }
    await service.log(
        session,
        org,
        anchor,
        "container.service.create",
        f"Template {template.display_name} deployed",
    )
    return [row for row, _ in rows], operation, rendered.inputs


def _deployments(
    org: OrgContext,
    operation: EasypanelOperation,
    specs: list[TemplateService],
    by_name: dict[str, ContainerService],
) -> dict[str, ServiceDeployment]:
    """A `create` deployment for each app of the template, carried out by its operation."""
    found = {}
    for spec in specs:
        if not isinstance(spec, TemplateApp):
            continue
        source = spec.data.source
        found[spec.data.service_name] = ServiceDeployment(
            id=uuid.uuid4(),
            service_id=by_name[spec.data.service_name].id,
            organization_id=org.id,
            trigger="create",
            actor_user_id=org.user.id,
            image=source.image if isinstance(source, ImageSource) else None,
            operation_id=operation.id,
            status="pending",
            created_at=clock.now(),
        )
    return found


async def _claims(
    session: AsyncSession, server_id: uuid.UUID, specs: list[TemplateService]
) -> tuple[dict[str, list[str]], dict[str, list[claims.Port]]]:
    """The hosts and ports each app of the template asks for, checked all together (a template
    may not claim one twice either); the specs then carry the normalised hosts."""
    hosts: dict[str, list[str]] = {}
    ports: dict[str, list[claims.Port]] = {}
    for spec in specs:
        if spec.type != "app":
            continue
        data = spec.data
        hosts[data.service_name] = [
            claims.normalise_host(d.host, wildcard=d.wildcard) for d in data.domains or []
        ]
        ports[data.service_name] = [claims.Port(p.published, p.protocol) for p in data.ports or []]
        if data.domains:
            data.domains = [
                d.model_copy(update=claims.as_easypanel(host))
                for d, host in zip(data.domains, hosts[data.service_name], strict=True)
            ]
    await claims.check_domains(session, [h for found in hosts.values() for h in found])
    await claims.check_ports(session, server_id, [p for found in ports.values() for p in found])
    return hosts, ports


def _connection_facts(credentials: dict[str, str]) -> dict[str, Any]:
    """Where a database listens (the password stays with the sealed credentials)."""
    if "port" not in credentials:
        return {}
    return {
        "port": int(credentials["port"]),
        "user": credentials.get("user"),
        "database": credentials.get("database"),
    }


async def _group(
    session: AsyncSession, operation: EasypanelOperation, status: str, error: str | None
) -> None:
    group = str(operation.subject_id)
    members = (
        await session.scalars(
            select(ContainerService)
            .where(ContainerService.configuration["templateGroup"].astext == group)
            .order_by(ContainerService.id)  # locked in the order every writer takes services
            .with_for_update()
        )
    ).all()
    for member in members:
        kind = "running" if database_kind(member.service_type) else status
        await session.execute(
            update(ContainerService)
            .where(ContainerService.id == member.id)
            .values(
                status=kind if status != "failed" else "failed",
                last_error=error,
                updated_at=clock.now(),
                # Easypanel took them: each counts as starting from now (services.status).
                started_at=clock.now() if status != "failed" else member.started_at,
                crash_looping_since=None,
            )
        )


async def _created(session: AsyncSession, operation: EasypanelOperation) -> None:
    await _group(session, operation, "deploying", None)


async def _failed(session: AsyncSession, operation: EasypanelOperation) -> None:
    await _group(session, operation, "failed", operation.last_error)


async def create_from_template(
    ctx: OperationContext, operation: EasypanelOperation
) -> dict[str, Any]:
    async with ctx.sessions() as session:
        anchor = await session.get(ContainerService, operation.subject_id)
    if anchor is None:
        return {"skipped": True}
    specs = SPECS.validate_python(json.loads(service_credentials(anchor)[SPECS_KEY]))
    project = operation.payload["project"]
    try:
        await ctx.client.create_from_schema(project, specs, name=operation.payload.get("name"))
    except EasypanelResourceExists:
        if operation.attempts == 1:
            raise
    members = await _members(ctx, str(anchor.id))
    for name, deployment in operation.payload.get("deployments", {}).items():
        if name in members:
            await attach_action(ctx, uuid.UUID(deployment), members[name], project, name)
    return {"services": len(specs)}


async def _members(ctx: OperationContext, group: str) -> dict[str, uuid.UUID]:
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(ContainerService.easypanel_service_name, ContainerService.id).where(
                ContainerService.configuration["templateGroup"].astext == group
            )
        )
        return {name: service_id for name, service_id in rows}


HANDLERS: dict[str, Handler] = {
    "easypanel.template.create": Handler(
        create_from_template, on_success=_created, on_failure=_failed
    ),
}
