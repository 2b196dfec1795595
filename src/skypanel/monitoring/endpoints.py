from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.money import Money
from skypanel.kit.schema import ApiModel
from skypanel.monitoring import service

router = APIRouter(prefix="/api/containers/admin", tags=["admin"])
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


class AdminSubscriptionOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    plan_name: str
    status: str
    provisioning_status: str
    current_period_end: datetime
    grace_until: datetime | None
    created_at: datetime


class AdminServiceOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    project_name: str
    service_name: str
    service_type: str
    status: str
    cpu_cores: float
    memory_gb: float
    storage_gb: float
    created_at: datetime


class OverviewOut(ApiModel):
    subscriptions: dict[str, int]
    projects: int
    services: list[dict[str, Any]]
    monthly_recurring_revenue: Money
    billing_success_rate: float | None
    operations: dict[str, int]
    easypanel: dict[str, Any]


@router.get("/overview", response_model=OverviewOut, responses=responses(401, 403))
async def overview(request: Request, _: AdminUser, session: Session) -> OverviewOut:
    """Subscriptions by status, projects, services by type and status, monthly recurring
    revenue, billing success over 30 days, and Easypanel reachability and latency."""
    data = await service.overview(session, request.app.state.clients)
    data["monthlyRecurringRevenue"] = data.pop("monthlyRecurringRevenueCents")
    return OverviewOut.model_validate(data)


@router.get(
    "/subscriptions", response_model=list[AdminSubscriptionOut], responses=responses(401, 403)
)
async def list_subscriptions(
    _: AdminUser,
    session: Session,
    status: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AdminSubscriptionOut]:
    rows = await service.subscriptions(session, status=status, limit=limit, offset=offset)
    return [
        AdminSubscriptionOut(
            id=sub.id,
            organization_id=sub.organization_id,
            organization_name=org_name,
            plan_name=plan_name,
            status=sub.status,
            provisioning_status=sub.provisioning_status,
            current_period_end=sub.current_period_end,
            grace_until=sub.grace_until,
            created_at=sub.created_at,
        )
        for sub, org_name, plan_name in rows
    ]


@router.get("/services", response_model=list[AdminServiceOut], responses=responses(401, 403))
async def list_services(
    _: AdminUser,
    session: Session,
    status: str | None = None,
    type: str | None = None,
    organization: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AdminServiceOut]:
    """Every organization's services, filterable by status, type and organization."""
    rows = await service.services(
        session,
        status=status,
        service_type=type,
        organization=organization,
        limit=limit,
        offset=offset,
    )
    return [
        AdminServiceOut(
            id=item.id,
            organization_id=item.organization_id,
            organization_name=org_name,
            project_name=project_name,
            service_name=item.service_name,
            service_type=item.service_type,
            status=item.status,
            cpu_cores=float(item.cpu_limit),
            memory_gb=float(item.memory_limit_gb),
            storage_gb=float(item.storage_limit_gb),
            created_at=item.created_at,
        )
        for item, project_name, org_name in rows
    ]
