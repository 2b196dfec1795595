from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.errors import AppError
from skypanel.kit.tenancy import scoped
from skypanel.models import ContainerPlan, ContainerService
from skypanel.notices.service import emit

QUOTAS = ("cpuCores", "memoryGb", "storageGb", "containers")


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_cores: Decimal
    memory_gb: Decimal
    storage_gb: Decimal
    containers: int

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.cpu_cores + other.cpu_cores,
            self.memory_gb + other.memory_gb,
            self.storage_gb + other.storage_gb,
            self.containers + other.containers,
        )

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


class QuotaExceeded(AppError):
    code = "QUOTA_EXCEEDED"
    status = 403


def check(plan: ContainerPlan, used: Usage, requested: Usage) -> None:
    """Refuse when `used + requested` passes any of the plan's limits, listing each such quota."""
    exceeded = [
        {
            "quota": quota,
            "requested": plain(want),
            "used": plain(have),
            "limit": plain(limit),
        }
        for (quota, limit), have, want in zip(
            limits(plan).items(),
            used.by_quota().values(),
            requested.by_quota().values(),
            strict=True,
        )
        if want > 0 and have + want > limit
    ]
    if exceeded:
        words = "; ".join(_in_words(item) for item in exceeded)
        raise QuotaExceeded(f"This would exceed the plan's limits: {words}", exceeded=exceeded)


_WORDS = {
    "cpuCores": ("vCPU", "vCPU"),
    "memoryGb": ("memory", "GB"),
    "storageGb": ("storage", "GB"),
    "containers": ("containers", "containers"),
}


def _in_words(item: Mapping[str, object]) -> str:
    """`{"quota": "memoryGb", ...}` -> "memory: 2 GB requested, 3 GB of 4 GB in use"."""
    name, unit = _WORDS.get(str(item["quota"]), (str(item["quota"]), ""))
    requested, used, limit = (f"{float(str(item[k])):g}" for k in ("requested", "used", "limit"))
    return f"{name}: {requested} {unit} requested, {used} {unit} of {limit} {unit} in use"


WARNING_SHARE = Decimal("0.8")
"""The share of a quota past which the organization's managers are told."""


async def warn_if_passed(
    session: AsyncSession,
    organization_id: uuid.UUID,
    plan: ContainerPlan,
    before: Usage,
    after: Usage,
    at: datetime,
) -> None:
    """Tell the managers of each quota the change from `before` to `after` takes past 80 %
    (written with the change, so once per change; falling back and passing again tells
    again)."""
    for (quota, limit), had, has in zip(
        limits(plan).items(), before.by_quota().values(), after.by_quota().values(), strict=True
    ):
        if limit > 0 and had < limit * WARNING_SHARE <= has:
            name, unit = _WORDS[quota]
            await emit(
                session,
                "quota.warning",
                dedupe_key=f"quota_warning:{organization_id}:{quota}:{at.isoformat()}",
                organization_id=organization_id,
                data={
                    "percent": int(Decimal(has) * 100 / Decimal(limit)),
                    "resource": name,
                    "used": f"{float(has):g} {unit}",
                    "limit": f"{float(limit):g} {unit}",
                    "plan": plan.name,
                },
            )


def fair_share(plan: ContainerPlan, used: Usage) -> Usage:
    """Default limits of one more service: the plan split over its container count, or what is
    left when that is less (never below 0.1 of a core or of a gigabyte)."""
    floor = Decimal("0.1")

    def share(limit: Decimal, have: Decimal) -> Decimal:
        portion = (limit / plan.max_containers).quantize(Decimal("0.01"))
        return max(floor, min(portion, (limit - have).quantize(Decimal("0.01"))))

    return Usage(
        cpu_cores=share(plan.max_cpu_cores, used.cpu_cores),
        memory_gb=share(plan.max_memory_gb, used.memory_gb),
        storage_gb=share(Decimal(plan.max_storage_gb), used.storage_gb),
        containers=1,
    )
