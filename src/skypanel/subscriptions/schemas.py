from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from skypanel.kit.money import Money
from skypanel.kit.schema import ApiModel, InputModel
from skypanel.plans.schemas import PlanOut


class SubscribeIn(InputModel):
    plan_id: uuid.UUID
    region: str | None = Field(
        default=None, max_length=64, description="Where to host it, among the plan's regions"
    )


class EasypanelLoginOut(ApiModel):
    email: str | None
    user_id: str | None
    ready: bool


class SubscriptionOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    plan_id: uuid.UUID
    plan: PlanOut
    status: str
    current_period_start: datetime
    current_period_end: datetime
    grace_until: datetime | None
    suspended_at: datetime | None
    cancelled_at: datetime | None
    provisioning_status: str
    provisioning_error: str | None
    easypanel: EasypanelLoginOut
    created_at: datetime
    updated_at: datetime


class ProjectBrief(ApiModel):
    id: uuid.UUID
    name: str = Field(validation_alias="project_name")
    easypanel_project_name: str
    status: str
    created_at: datetime


class CycleOut(ApiModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    plan_id: uuid.UUID
    kind: str
    billing_period_start: datetime
    billing_period_end: datetime
    monthly_rate: Money = Field(validation_alias="monthly_rate_cents")
    amount: Money = Field(validation_alias="amount_cents")
    refunded: Money = Field(validation_alias="refunded_cents")
    status: str
    attempts: int
    failure_reason: str | None
    payment_transaction_id: uuid.UUID | None
    created_at: datetime


class CyclePage(ApiModel):
    items: list[CycleOut]
    next_cursor: str | None


class Meta(ApiModel):
    request_id: str | None
    timestamp: datetime
    duration_ms: int


class SubscribeOut(ApiModel):
    """The implementation guide's SubscriptionWorkflowResult."""

    subscription: SubscriptionOut
    easypanel_user: EasypanelLoginOut | None
    projects: list[ProjectBrief]
    billing_cycle: CycleOut
    meta: Meta


class PlanChangeOut(ApiModel):
    subscription: SubscriptionOut
    credited: Money
    charged: Money


class CancellationOut(ApiModel):
    """The implementation guide's CancellationResult."""

    refund_amount: Money
    projects_deleted: int
    services_deleted: int
    wallet_credited: bool
    pending_deletions: int
    meta: Meta


class LoginSecretOut(ApiModel):
    email: str
    password: str
    url: str
