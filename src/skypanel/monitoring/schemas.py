from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skypanel.kit.money import Money
from skypanel.kit.schema import ApiModel


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


class SubscriptionPage(ApiModel):
    items: list[AdminSubscriptionOut]
    next_cursor: str | None


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


class ServicePage(ApiModel):
    items: list[AdminServiceOut]
    next_cursor: str | None


class OverviewOut(ApiModel):
    subscriptions: dict[str, int]
    projects: int
    services: list[dict[str, Any]]
    monthly_recurring_revenue: Money
    billing_success_rate: float | None
    operations: dict[str, int]
    easypanel: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Filters:
    """What an admin list is narrowed to; `organization` is an id or a slug."""

    status: str | None = None
    service_type: str | None = None
    organization: uuid.UUID | str | None = None
    server_id: uuid.UUID | None = None
    search: str | None = None
