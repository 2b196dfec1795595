from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit.errors import InvalidInput, NotFound
from skypanel.kit.money import format_money
from skypanel.models import ContainerPlan, User
from skypanel.plans.schemas import PlanIn, PlanUpdate


class PlanNotFound(NotFound):
    code = "PLAN_NOT_FOUND"


async def list_plans(session: AsyncSession, *, active_only: bool) -> Sequence[ContainerPlan]:
    query = select(ContainerPlan).order_by(ContainerPlan.price_monthly_cents, ContainerPlan.name)
    if active_only:
        query = query.where(ContainerPlan.active)
    return (await session.scalars(query)).all()


async def get_plan(
    session: AsyncSession, plan_id: uuid.UUID, *, lock: bool = False
) -> ContainerPlan:
    query = select(ContainerPlan).where(ContainerPlan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = await session.scalar(query)
    if plan is None:
        raise PlanNotFound("Plan not found")
    return plan


async def create_plan(session: AsyncSession, admin: User, data: PlanIn) -> ContainerPlan:
    plan = ContainerPlan(
        id=uuid.uuid4(),
        name=data.name,
        description=data.description,
        price_monthly_cents=_price(data.price_monthly),
        max_cpu_cores=data.max_cpu_cores,
        max_memory_gb=data.max_memory_gb,
        max_storage_gb=data.max_storage_gb,
        max_containers=data.max_containers,
        regions=data.regions,
        active=data.active,
    )
    session.add(plan)
    await session.flush()
    await _log(session, admin, plan, "container.plan.create", f"Plan {plan.name} created")
    return plan


async def update_plan(
    session: AsyncSession, admin: User, plan_id: uuid.UUID, data: PlanUpdate
) -> ContainerPlan:
    """Changes apply at once to quotas; a new price applies from each subscriber's next renewal."""
    plan = await get_plan(session, plan_id, lock=True)
    changes = data.model_dump(exclude_unset=True, by_alias=False)
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("The name cannot be empty", field="name")
    for field, value in changes.items():
        if field == "price_monthly":
            plan.price_monthly_cents = _price(value)
        elif value is not None or field == "description":
            setattr(plan, field, value)
    await session.flush()
    await _log(
        session,
        admin,
        plan,
        "container.plan.update",
        f"Plan {plan.name} updated",
        {k: (format_money(v) if k == "price_monthly" else str(v)) for k, v in changes.items()},
    )
    return plan


async def set_active(
    session: AsyncSession, admin: User, plan_id: uuid.UUID, active: bool
) -> ContainerPlan:
    """Deactivated plans take no new subscribers; current subscribers keep them."""
    plan = await get_plan(session, plan_id, lock=True)
    plan.active = active
    await session.flush()
    verb = "activated" if active else "deactivated"
    await _log(session, admin, plan, f"container.plan.{verb[:-1]}", f"Plan {plan.name} {verb}")
    return plan


def _price(cents: int) -> int:
    if cents < 0:
        raise InvalidInput("The price cannot be negative", field="priceMonthly")
    return cents


async def _log(
    session: AsyncSession,
    admin: User,
    plan: ContainerPlan,
    event: str,
    message: str,
    changes: dict[str, str] | None = None,
) -> None:
    await record(
        session,
        event,
        message,
        user_id=admin.id,
        entity_type="container_plan",
        entity_id=plan.id,
        metadata={"changes": changes} if changes else None,
    )
