from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import ContainerTemplate


async def listed(
    session: AsyncSession,
    *,
    enabled_only: bool,
    search: str | None = None,
    category: str | None = None,
) -> Sequence[ContainerTemplate]:
    """Templates by display order, then display name; `search` matches any text field."""
    query = select(ContainerTemplate).order_by(
        ContainerTemplate.display_order,
        ContainerTemplate.display_name,
        ContainerTemplate.template_name,
    )
    if enabled_only:
        query = query.where(ContainerTemplate.enabled)
    if category:
        query = query.where(func.lower(ContainerTemplate.category) == category.strip().lower())
    if search and search.strip():
        term = search.strip()
        query = query.where(
            or_(
                *(
                    column.icontains(term, autoescape=True)
                    for column in (
                        ContainerTemplate.template_name,
                        ContainerTemplate.display_name,
                        ContainerTemplate.description,
                        ContainerTemplate.category,
                    )
                )
            )
        )
    return (await session.scalars(query)).all()


async def get(
    session: AsyncSession, template_id: uuid.UUID, *, lock: bool = False
) -> ContainerTemplate | None:
    query = select(ContainerTemplate).where(ContainerTemplate.id == template_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_names(session: AsyncSession, names: Iterable[str]) -> dict[str, ContainerTemplate]:
    """The templates with these names, locked for update."""
    found = await session.scalars(
        select(ContainerTemplate)
        .where(ContainerTemplate.template_name.in_(list(names)))
        .with_for_update()
    )
    return {template.template_name: template for template in found}
