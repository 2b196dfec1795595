from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from skypanel.accounts.auth import AdminUser, CurrentUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.plans import service
from skypanel.plans.schemas import PlanIn, PlanOut, PlanUpdate

router = APIRouter(prefix="/api/containers", tags=["plans"])


@router.get("/plans", response_model=list[PlanOut], responses=responses(401))
async def list_active_plans(_: CurrentUser, session: Session) -> list[PlanOut]:
    """Plans open to new subscribers, cheapest first."""
    return [PlanOut.model_validate(p) for p in await service.list_plans(session, active_only=True)]


@router.get("/admin/plans", response_model=list[PlanOut], responses=responses(401, 403))
async def list_all_plans(_: AdminUser, session: Session) -> list[PlanOut]:
    return [PlanOut.model_validate(p) for p in await service.list_plans(session, active_only=False)]


@router.post(
    "/admin/plans",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 422),
)
async def create_plan(body: PlanIn, admin: AdminUser, session: Session) -> PlanOut:
    return PlanOut.model_validate(await service.create_plan(session, admin, body))


@router.put(
    "/admin/plans/{plan_id}", response_model=PlanOut, responses=responses(401, 403, 404, 422)
)
async def update_plan(
    plan_id: uuid.UUID, body: PlanUpdate, admin: AdminUser, session: Session
) -> PlanOut:
    """Change a plan. A new price applies to each subscriber from their next renewal."""
    return PlanOut.model_validate(await service.update_plan(session, admin, plan_id, body))


@router.post(
    "/admin/plans/{plan_id}/activate", response_model=PlanOut, responses=responses(401, 403, 404)
)
async def activate_plan(plan_id: uuid.UUID, admin: AdminUser, session: Session) -> PlanOut:
    return PlanOut.model_validate(await service.set_active(session, admin, plan_id, True))


@router.post(
    "/admin/plans/{plan_id}/deactivate", response_model=PlanOut, responses=responses(401, 403, 404)
)
async def deactivate_plan(plan_id: uuid.UUID, admin: AdminUser, session: Session) -> PlanOut:
    """Stop offering a plan; subscribers keep it. Plans are never deleted."""
    return PlanOut.model_validate(await service.set_active(session, admin, plan_id, False))
