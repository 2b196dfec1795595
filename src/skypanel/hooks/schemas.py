from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from skypanel.kit.schema import ApiModel, InputModel

Url = Field(min_length=8, max_length=2000)
Events = Field(min_length=1, max_length=32)


class EndpointIn(InputModel):
    url: str = Url
    events: list[str] = Events
    description: str | None = Field(default=None, max_length=200)


class EndpointUpdateIn(InputModel):
    """What is omitted stays as it is."""

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class EndpointOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    failing_since: datetime | None
    disabled_reason: str | None
    created_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str
    """Shown this once; keep it where the receiver can read it."""


class SecretOut(ApiModel):
    secret: str


class AttemptOut(ApiModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryOut(ApiModel):
    id: uuid.UUID
    webhook_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    log: list[AttemptOut]
