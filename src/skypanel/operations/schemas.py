from __future__ import annotations

import uuid
from datetime import datetime

from skypanel.kit.schema import ApiModel


class OperationRef(ApiModel):
    """The Easypanel operation a request queued: follow it until `status` is final."""

    id: uuid.UUID
    kind: str
    status: str


class OperationOut(OperationRef):
    organization_id: uuid.UUID | None
    target: str
    attempts: int
    max_attempts: int
    last_error: str | None
    last_error_code: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class OperationPage(ApiModel):
    items: list[OperationOut]
    next_cursor: str | None
