from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from skypanel.kit.schema import ApiModel, InputModel
from skypanel.operations.schemas import OperationRef
from skypanel.servers.schemas import Degraded

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-_]+$", min_length=1, max_length=40)]


class ProjectIn(InputModel):
    project_name: Name
    env: dict[str, str] = Field(default_factory=dict)


class EnvIn(InputModel):
    env: dict[str, str]


class ServiceBrief(ApiModel):
    id: uuid.UUID
    service_name: str
    service_type: str
    status: str
    desired_state: str
    last_error: str | None


class ProjectOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    subscription_id: uuid.UUID
    project_name: str
    easypanel_project_name: str
    status: str
    last_error: str | None
    service_count: int
    services_by_status: dict[str, int]
    created_at: datetime
    updated_at: datetime


class ProjectDetail(ProjectOut):
    services: list[ServiceBrief]
    env: dict[str, str]
    operation: OperationRef | None = None
    """The change this request queued, when it queued one (the answer is then 202)."""
    degraded: Degraded | None = None
    """Set while the project's Easypanel server does not answer: statuses are as recorded."""
