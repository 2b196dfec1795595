from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
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


_LISTED = (
    "id",
    "organization_id",
    "subscription_id",
    "project_name",
    "easypanel_project_name",
    "status",
    "last_error",
    "created_at",
    "updated_at",
)
"""The columns a listed project shows (not its environment or metadata)."""


def listing(organization_id: uuid.UUID | ColumnElement[uuid.UUID]) -> Select[Any]:
    """Every project of the organization, oldest first, with the status of each of its services
    (`statuses`, sorted): one statement, which the cold read of the list also runs beside its
    caller (`skypanel.projects.endpoints.PROJECTS`)."""
    services = ContainerService.__table__
    statuses = (
        select(func.array_agg(aggregate_order_by(services.c.status, services.c.status)))
        .where(
            services.c.project_id == ContainerProject.id,
            services.c.organization_id == ContainerProject.organization_id,
        )
        .scalar_subquery()
    )
    return scoped(
        select(
            *(ContainerProject.__table__.c[name] for name in _LISTED), statuses.label("statuses")
        ),
        ContainerProject,
        organization_id,
    ).order_by(ContainerProject.created_at, ContainerProject.id)


async def listed(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[RowMapping]:
    rows: Sequence[RowMapping] = (await session.execute(listing(organization_id))).mappings().all()
    return rows


async def services_of(session: AsyncSession, project_id: uuid.UUID) -> Sequence[ContainerService]:
    return (
        await session.scalars(
            select(ContainerService)
            .where(ContainerService.project_id == project_id)
            .order_by(ContainerService.created_at)
        )
    ).all()
