from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from skypanel.kit.schema import ApiModel


class ActivityOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None
    user_id: uuid.UUID | None
    event_type: str
    entity_type: str | None
    entity_id: uuid.UUID | None
    message: str
    status: str
    ip_address: str | None
    user_agent: str | None
    request_id: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    created_at: datetime


class ActivityPage(ApiModel):
    items: list[ActivityOut]
    next_cursor: str | None
