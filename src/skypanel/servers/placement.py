"""Where a new subscription goes: a server of an allowed region with room for the plan's quota.

A server fits when, for each of vCPU, memory and storage, its capacity times its overcommit
ratio, less what its live subscriptions' plans reserve, still holds the plan's full quota. Among
the servers that fit, the one with the largest *smallest free fraction* (free ÷ capacity of its
scarcest resource) wins; ties go to the server with fewer subscriptions, then by name. A server
whose capacity is not known yet (it has not reported it and none is set) fits any plan and comes
after every server whose capacity is known.

Placement runs under one transaction-scoped advisory lock, taken before reservations are read:
concurrent subscribes serialise on it (and only on it), so two can never both take the last room.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.errors import AppError, InvalidInput
from skypanel.models import ContainerPlan, EasypanelServer
from skypanel.servers import repository
from skypanel.servers.repository import Reserved
from skypanel.servers.service import NotConfigured

PLACEMENT_LOCK = 0x5C1_9A4E1_0001
"""The advisory lock key every placement takes (`pg_advisory_xact_lock`)."""


class NoCapacity(AppError):
    code = "NO_CAPACITY"
    status = 503


@dataclass(frozen=True, slots=True)
class Room:
    """What is left on a server, per resource, under its overcommit ratio (None: unknown)."""

    cpus: Decimal | None
    memory_gb: Decimal | None
    storage_gb: Decimal | None
    free_fraction: Decimal | None

    def fits(self, plan: ContainerPlan) -> bool:
        needed = (plan.max_cpu_cores, plan.max_memory_gb, Decimal(plan.max_storage_gb))
        left = (self.cpus, self.memory_gb, self.storage_gb)
        return all(free is None or free >= need for free, need in zip(left, needed, strict=True))


def room(server: EasypanelServer, reserved: Reserved) -> Room:
    totals = (server.capacity_cpus, server.capacity_memory_gb, server.capacity_storage_gb)
    used = (reserved.cpus, reserved.memory_gb, reserved.storage_gb)
    if any(total is None for total in totals):
        return Room(None, None, None, None)
    limits = [Decimal(total or 0) * server.overcommit_ratio for total in totals]
    free = [limit - taken for limit, taken in zip(limits, used, strict=True)]
    fraction = min(
        (f / limit if limit > 0 else Decimal(0)) for f, limit in zip(free, limits, strict=True)
    )
    return Room(free[0], free[1], free[2], fraction)


def check_region(plan: ContainerPlan, region: str | None, known: set[str]) -> list[str]:
    """The regions the subscription may go to; a region the plan or the fleet lacks is refused."""
    allowed = sorted(set(plan.regions) if plan.regions else known)
    if region is None:
        return allowed
    if region not in allowed:
        offered = ", ".join(allowed) or "none"
        raise InvalidInput(
            f"The region {region!r} is not offered for this plan (offered: {offered})",
            field="region",
        )
    return [region]


async def place(
    session: AsyncSession, plan: ContainerPlan, region: str | None = None
) -> EasypanelServer:
    """The server for a new subscription to `plan`, decided under the placement lock."""
    await session.execute(select(func.pg_advisory_xact_lock(PLACEMENT_LOCK)))
    fleet = await repository.in_service(session)
    if not fleet:
        raise NotConfigured("Container hosting is not configured yet; contact the provider")
    regions = check_region(plan, region, {server.region for server in fleet})
    reserved = await repository.reservations(session)
    ranked: list[tuple[tuple[int, Decimal, int, str], EasypanelServer]] = []
    for server in fleet:
        if server.state != "active" or server.region not in regions:
            continue
        load = reserved.get(server.id, Reserved())
        left = room(server, load)
        if left.fits(plan):
            known = left.free_fraction is not None
            key = (
                0 if known else 1,
                -(left.free_fraction or Decimal(0)),
                load.subscriptions,
                server.name,
            )
            ranked.append((key, server))
    if not ranked:
        where = f" in {', '.join(regions)}" if plan.regions or region else ""
        raise NoCapacity(
            f"No server{where} has room for this plan right now; nothing was charged."
            " Try again later or choose another plan or region.",
            regions=regions,
        )
    return min(ranked, key=lambda entry: entry[0])[1]
