from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.tenancy import scoped
from skypanel.models import ContainerPlan, ContainerService

QUOTAS = ("cpuCores", "memoryGb", "storageGb", "containers")


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_cores: Decimal
    memory_gb: Decimal
    storage_gb: Decimal
    containers: int

    def by_quota(self) -> dict[str, Decimal | int]:
        return dict(
            zip(
                QUOTAS,
                (self.cpu_cores, self.memory_gb, self.storage_gb, self.containers),
                strict=True,
            )
        )


def limits(plan: ContainerPlan) -> dict[str, Decimal | int]:
    return dict(
        zip(
            QUOTAS,
            (
                plan.max_cpu_cores,
                plan.max_memory_gb,
                Decimal(plan.max_storage_gb),
                plan.max_containers,
            ),
            strict=True,
        )
    )


async def usage(session: AsyncSession, organization_id: uuid.UUID) -> Usage:
    """Declared limits of every service the organization has (being deleted included)."""
    row = (
        await session.execute(
            scoped(
                select(
                    func.coalesce(func.sum(ContainerService.cpu_limit), 0),
                    func.coalesce(func.sum(ContainerService.memory_limit_gb), 0),
                    func.coalesce(func.sum(ContainerService.storage_limit_gb), 0),
                    func.count(),
                ),
                ContainerService,
                organization_id,
            )
        )
    ).one()
    return Usage(Decimal(row[0]), Decimal(row[1]), Decimal(row[2]), int(row[3]))


async def exceeded_by_plan(
    session: AsyncSession, organization_id: uuid.UUID, plan: ContainerPlan
) -> list[dict[str, Any]]:
    """Each quota the current usage is over on `plan`, with used and limit."""
    used = (await usage(session, organization_id)).by_quota()
    return [
        {"quota": quota, "used": plain(used[quota]), "limit": plain(limit)}
        for quota, limit in limits(plan).items()
        if used[quota] > limit
    ]


def plain(value: Decimal | int) -> float | int:
    """A JSON number: whole counts stay integers, sizes and cores are decimals."""
    return value if isinstance(value, int) else float(value)
