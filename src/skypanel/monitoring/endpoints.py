from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from skypanel.models.projects import SERVICE_TYPES
from skypanel.monitoring import service
from skypanel.monitoring.schemas import (
    AdminServiceOut,
    AdminSubscriptionOut,
    Filters,
    OverviewOut,
    ServicePage,
    SubscriptionPage,
)

router = APIRouter(prefix="/api/containers/admin", tags=["admin"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]
Search = Annotated[str | None, Query(min_length=1, max_length=100)]
Organization = Annotated[
    str | None,
    Query(
        pattern="^[a-z0-9][a-z0-9-]{0,62}$",
        description="The organization's id or slug.",
    ),
]
SubscriptionStatus = Literal["active", "past_due", "suspended", "cancelled"]
ServiceType = Literal[SERVICE_TYPES]  # type: ignore[valid-type]
ServiceStatus = Annotated[str | None, Query(pattern="^[a-z][a-z_-]{0,31}$")]


def _organization(value: str | None) -> uuid.UUID | str | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return value


@router.get("/overview", response_model=OverviewOut, responses=responses(401, 403))
async def overview(request: Request, _: AdminUser, session: Session) -> OverviewOut:
    """Subscriptions by status, projects, services by type and status, monthly recurring
    revenue, billing success over 30 days, and Easypanel reachability and latency."""
    data = await service.overview(session, request.app.state.clients)
    data["monthlyRecurringRevenue"] = data.pop("monthlyRecurringRevenueCents")
    return OverviewOut.model_validate(data)


@router.get("/subscriptions", response_model=SubscriptionPage, responses=responses(401, 403, 422))
async def list_subscriptions(
    _: AdminUser,
    session: Session,
    status: SubscriptionStatus | None = None,
    organization: Organization = None,
    server_id: Annotated[uuid.UUID | None, Query(alias="serverId")] = None,
    search: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> SubscriptionPage:
    """Every organization's subscriptions, newest first; `search` matches the start of the
    organization's name or slug (see docs/admin.md)."""
    filters = Filters(
        status=status,
        organization=_organization(organization),
        server_id=server_id,
        search=search,
    )
    rows, next_cursor = await service.subscriptions(session, filters, cursor=cursor, limit=limit)
    return SubscriptionPage(
        items=[
            AdminSubscriptionOut(
                id=sub.id,
                organization_id=sub.organization_id,
                organization_name=organization_name,
                plan_name=plan_name,
                status=sub.status,
                provisioning_status=sub.provisioning_status,
                current_period_end=sub.current_period_end,
                grace_until=sub.grace_until,
                created_at=sub.created_at,
            )
            for sub, organization_name, plan_name, *_ in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/services", response_model=ServicePage, responses=responses(401, 403, 422))
async def list_services(
    _: AdminUser,
    session: Session,
    status: ServiceStatus = None,
    type: ServiceType | None = None,
    organization: Organization = None,
    server_id: Annotated[uuid.UUID | None, Query(alias="serverId")] = None,
    search: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ServicePage:
    """Every organization's services, newest first, filterable by status, type, organization
    and server; `search` matches the start of the service's name (see docs/admin.md)."""
    filters = Filters(
        status=status,
        service_type=type,
        organization=_organization(organization),
        server_id=server_id,
        search=search,
    )
    rows, next_cursor = await service.services(session, filters, cursor=cursor, limit=limit)
    return ServicePage(
        items=[
            AdminServiceOut(
                id=item.id,
                organization_id=item.organization_id,
                organization_name=organization_name,
                project_name=project_name,
                service_name=item.service_name,
                service_type=item.service_type,
                status=item.status,
                cpu_cores=float(item.cpu_limit),
                memory_gb=float(item.memory_limit_gb),
                storage_gb=float(item.storage_limit_gb),
                created_at=item.created_at,
            )
            for item, project_name, organization_name, *_ in rows
        ],
        next_cursor=next_cursor,
    )
