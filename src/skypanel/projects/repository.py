from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.tenancy import scoped
from skypanel.models import ContainerProject, ContainerService


async def by_name(
    session: AsyncSession, organization_id: uuid.UUID, name: str, *, lock: bool = False
) -> ContainerProject | None:
    query = scoped(select(ContainerProject), ContainerProject, organization_id).where(
        ContainerProject.project_name == name
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def with_counts(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[tuple[ContainerProject, dict[str, int]]]:
    """Every project of the organization with its services counted by status (two queries)."""
    projects = (
        await session.scalars(
            scoped(select(ContainerProject), ContainerProject, organization_id).order_by(
                ContainerProject.created_at
            )
        )
    ).all()
    counts = await session.execute(
        scoped(
            select(ContainerService.project_id, ContainerService.status, func.count()),
            ContainerService,
            organization_id,
        ).group_by(ContainerService.project_id, ContainerService.status)
    )
    by_project: dict[uuid.UUID, dict[str, int]] = {}
    for project_id, status, count in counts:
        by_project.setdefault(project_id, {})[status] = count
    return [(project, by_project.get(project.id, {})) for project in projects]


async def services_of(session: AsyncSession, project_id: uuid.UUID) -> Sequence[ContainerService]:
    return (
        await session.scalars(
            select(ContainerService)
            .where(ContainerService.project_id == project_id)
            .order_by(ContainerService.created_at)
        )
    ).all()
