"""What the move API takes and answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from skypanel.kit.schema import ApiModel, InputModel


class MoveIn(InputModel):
    server_id: uuid.UUID
    dry_run: bool = True


class StepOut(ApiModel):
    kind: str
    description: str
    server: str


class DowntimeOut(ApiModel):
    project: str
    service: str
    type: str
    downtime: str


class PlanOut(ApiModel):
    source: str
    target: str
    steps: list[StepOut]
    downtimes: list[DowntimeOut]


class MoveOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    source_server_id: uuid.UUID
    target_server_id: uuid.UUID
    state: str
    steps_total: int
    steps_done: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
