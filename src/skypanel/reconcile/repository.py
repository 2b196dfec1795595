"""The queries of a reconciliation run: one snapshot before Easypanel is asked, then the rows its
write-back re-reads under lock."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import ContainerProject, ContainerService, Organization, OrganizationMove
from skypanel.reconcile._drift import SAFETY_STOP, SeenProject, SeenService, Snapshot


async def snapshot(session: AsyncSession, server_id: uuid.UUID) -> Snapshot:
    """The server's projects and services as they are now: two queries of plain rows (the
    columns a comparison reads, no ORM objects), no locks."""
    projects = await session.execute(
        select(
            ContainerProject.id,
            ContainerProject.organization_id,
            ContainerProject.easypanel_project_name,
            ContainerProject.status,
            ContainerProject.updated_at,
        ).where(ContainerProject.server_id == server_id)
    )
    services = await session.execute(
        select(  # in SeenService's field order
            ContainerService.id,
            ContainerService.project_id,
            ContainerProject.easypanel_project_name,
            ContainerService.easypanel_service_name,
            ContainerService.status,
            ContainerService.desired_state,
            ContainerService.configuration[SAFETY_STOP].astext,
            ContainerService.updated_at,
        )
        .join(ContainerProject, ContainerService.project_id == ContainerProject.id)
        .where(ContainerProject.server_id == server_id)
    )
    return Snapshot(
        projects={row[2]: SeenProject(*row) for row in projects},
        services={(row[2], row[3]): SeenService(*row) for row in services},
    )


async def lock_projects(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ContainerProject]:
    """These projects, locked `FOR UPDATE` in id order (those deleted since are absent)."""
    if not ids:
        return {}
    query = (
        select(ContainerProject)
        .where(ContainerProject.id.in_(ids))
        .order_by(ContainerProject.id)
        .with_for_update()
    )
    return {project.id: project for project in await session.scalars(query)}


async def projects(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ContainerProject]:
    if not ids:
        return {}
    query = select(ContainerProject).where(ContainerProject.id.in_(ids))
    return {project.id: project for project in await session.scalars(query)}


async def lock_services(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ContainerService]:
    """These services, locked `FOR UPDATE` in id order (those deleted since are absent)."""
    if not ids:
        return {}
    query = (
        select(ContainerService)
        .where(ContainerService.id.in_(ids))
        .order_by(ContainerService.id)
        .with_for_update()
    )
    return {service.id: service for service in await session.scalars(query)}


async def has_service(session: AsyncSession, project_id: uuid.UUID, name: str) -> bool:
    """Whether the project has a record for this Easypanel service (by either name)."""
    found = await session.scalar(
        select(ContainerService.id)
        .where(
            ContainerService.project_id == project_id,
            or_(
                ContainerService.easypanel_service_name == name,
                ContainerService.service_name == name[:40],
            ),
        )
        .limit(1)
    )
    return found is not None


async def recorded_projects(
    session: AsyncSession, server_id: uuid.UUID, names: Collection[str]
) -> set[str]:
    """Which of these Easypanel project names have a record on the server now, or belong to an
    organization being moved from or to it (before the switch its projects are already on the
    target, after it they stay on the source until the cleanup)."""
    if not names:
        return set()
    moving = select(OrganizationMove.organization_id).where(
        OrganizationMove.state.in_(("pending", "running")),
        or_(
            OrganizationMove.source_server_id == server_id,
            OrganizationMove.target_server_id == server_id,
        ),
    )
    query = select(ContainerProject.easypanel_project_name).where(
        ContainerProject.easypanel_project_name.in_(names),
        or_(
            ContainerProject.server_id == server_id,
            ContainerProject.organization_id.in_(moving),
        ),
    )
    return set(await session.scalars(query))


async def existing_slugs(session: AsyncSession, candidates: Collection[str]) -> set[str]:
    """Which of these names are organization slugs."""
    if not candidates:
        return set()
    query = select(Organization.slug).where(Organization.slug.in_(candidates))
    return set(await session.scalars(query))
