"""The SQL of the admin lists and of the overview's counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Row,
    String,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.pagination import Page, match_page, newest_page, searchable
from skypanel.models import (
    ContainerPlan,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    EasypanelOperation,
    Organization,
    PlatformCount,
    PlatformCountChange,
)
from skypanel.monitoring.schemas import Filters


def _organization(organization: uuid.UUID | str, column: Any) -> Any:
    if isinstance(organization, uuid.UUID):
        return column == organization
    return Organization.slug == organization


async def subscriptions_page(
    session: AsyncSession, filters: Filters, *, cursor: str | None, limit: int
) -> Page:
    """Rows (subscription, organization name, plan name), newest first; with a search, the
    subscriptions of the organizations whose name starts with it, by that name."""
    query = (
        select(ContainerSubscription, Organization.name, ContainerPlan.name)
        .join(Organization, Organization.id == ContainerSubscription.organization_id)
        .join(ContainerPlan, ContainerPlan.id == ContainerSubscription.plan_id)
    )
    if filters.status:
        query = query.where(ContainerSubscription.status == filters.status)
    if filters.organization:
        organization = ContainerSubscription.organization_id
        query = query.where(_organization(filters.organization, organization))
    if filters.server_id:
        query = query.where(ContainerSubscription.server_id == filters.server_id)
    if filters.search:
        key = searchable(func.lower(Organization.name))
        return await match_page(
            session, query, [key], ContainerSubscription.id,
            search=filters.search, cursor=cursor, limit=limit,
        )  # fmt: skip
    return await newest_page(
        session, query, ContainerSubscription.created_at, ContainerSubscription.id,
        cursor=cursor, limit=limit,
    )  # fmt: skip


async def services_page(
    session: AsyncSession, filters: Filters, *, cursor: str | None, limit: int
) -> Page:
    """Rows (service, project name, organization name), newest first; with a search, the
    services whose name starts with it, by name."""
    query = (
        select(ContainerService, ContainerProject.project_name, Organization.name)
        .join(ContainerProject, ContainerProject.id == ContainerService.project_id)
        .join(Organization, Organization.id == ContainerService.organization_id)
    )
    if filters.status:
        query = query.where(ContainerService.status == filters.status)
    if filters.service_type:
        query = query.where(ContainerService.service_type == filters.service_type)
    if filters.organization:
        organization = ContainerService.organization_id
        query = query.where(_organization(filters.organization, organization))
    if filters.server_id:
        query = query.where(ContainerService.server_id == filters.server_id)
    if filters.search:
        key = searchable(func.lower(ContainerService.service_name))
        return await match_page(
            session, query, [key], ContainerService.id,
            search=filters.search, cursor=cursor, limit=limit,
        )  # fmt: skip
    return await newest_page(
        session, query, ContainerService.created_at, ContainerService.id,
        cursor=cursor, limit=limit,
    )  # fmt: skip


async def counts(
    session: AsyncSession, *, billing_since: datetime
) -> Sequence[Row[str, str, str, int, int | None]]:
    """(metric, label, status, n, monthly price of the plan a subscriptions label names): the
    folded counts plus the changes not yet folded, read in one snapshot; billing cycles
    created since `billing_since` (the start of an hour)."""
    columns = ("metric", "label", "status", "hour", "n")
    rows = union_all(
        select(*(getattr(PlatformCount, c) for c in columns)),
        select(*(getattr(PlatformCountChange, c) for c in columns)),
    ).subquery()
    query = (
        select(
            rows.c.metric,
            rows.c.label,
            rows.c.status,
            cast(func.sum(rows.c.n), BigInteger),
            ContainerPlan.price_monthly_cents,
        )
        .outerjoin(
            ContainerPlan,
            (rows.c.metric == literal("subscriptions"))
            & (cast(ContainerPlan.id, String) == rows.c.label),
        )
        .where((rows.c.metric != "billing_cycles") | (rows.c.hour >= billing_since))
        .group_by(rows.c.metric, rows.c.label, rows.c.status, ContainerPlan.price_monthly_cents)
        .having(func.sum(rows.c.n) != 0)
    )
    return (await session.execute(query)).all()


async def operations(session: AsyncSession) -> tuple[int, int]:
    """Easypanel operations in flight and failed."""
    in_flight, failed = (
        await session.execute(
            select(
                func.count().filter(EasypanelOperation.status.in_(("pending", "running"))),
                func.count().filter(EasypanelOperation.status == "failed"),
            ).where(EasypanelOperation.status.in_(("pending", "running", "failed")))
        )
    ).one()
    return int(in_flight), int(failed)


async def fold_counts(session: AsyncSession, *, forget_before: datetime) -> int:
    """Move the pending changes into the counts in one statement, and drop the counts no read
    needs (zero, or billing hours before `forget_before`); returns how many changes it moved."""
    moved = await session.execute(
        text(
            "WITH moved AS (DELETE FROM platform_count_changes"
            " RETURNING metric, label, status, hour, n),"
            " folded AS (INSERT INTO platform_counts (metric, label, status, hour, n)"
            " SELECT metric, label, status, hour, sum(n) FROM moved"
            " GROUP BY metric, label, status, hour"
            " ON CONFLICT (metric, label, status, hour)"
            " DO UPDATE SET n = platform_counts.n + excluded.n)"
            " SELECT count(*) FROM moved"
        )
    )
    await session.execute(
        delete(PlatformCount).where(
            (PlatformCount.n == 0)
            | ((PlatformCount.metric == "billing_cycles") & (PlatformCount.hour < forget_before))
        )
    )
    return int(moved.scalar_one())
