from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from skypanel.kit import inputs
from skypanel.kit.schema import ApiModel, InputModel
from skypanel.operations.schemas import OperationRef
from skypanel.servers.schemas import Degraded

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-_]+$", min_length=1, max_length=40)]


def _checked(problem: Callable[[str], str | None]) -> AfterValidator:
    def check(value: str) -> str:
        message = problem(value)
        if message is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


GitRef = Annotated[str, Field(min_length=1, max_length=200), _checked(inputs.git_ref_problem)]
RepoPath = Annotated[str, Field(max_length=500), _checked(inputs.repository_path_problem)]
Image = Annotated[str, Field(min_length=1, max_length=500), _checked(inputs.image_problem)]
UrlPath = Annotated[str, Field(max_length=500), _checked(inputs.url_path_problem)]
BIND_MOUNTS = "Bind mounts are not allowed; use a named volume"


def _volume_name(value: object) -> object:
    if isinstance(value, str) and ("/" in value or value.startswith(".")):
        raise ValueError(BIND_MOUNTS)
    return value


DatabaseType = Literal["postgres", "mysql", "mariadb", "mongo", "redis"]


class ResourcesIn(InputModel):
    """Omitted limits default to the plan's fair share for one service."""

    cpu_cores: Decimal | None = Field(default=None, gt=0, le=64, decimal_places=2)
    memory_gb: Decimal | None = Field(default=None, gt=0, le=512, decimal_places=2)
    storage_gb: Decimal | None = Field(default=None, gt=0, le=10_000, decimal_places=2)


class ImageSourceIn(InputModel):
    type: Literal["image"]
    image: Image
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=500)


class GithubSourceIn(InputModel):
    type: Literal["github"]
    owner: Annotated[str, _checked(inputs.github_owner_problem)]
    repo: Annotated[str, _checked(inputs.github_repo_problem)]
    ref: GitRef = "main"
    path: RepoPath = "/"


class GitSourceIn(InputModel):
    type: Literal["git"]
    url: str = Field(min_length=1, max_length=500, pattern=r"^(https?://|git@)")
    ref: GitRef = "main"
    path: RepoPath = "/"


class DockerfileSourceIn(InputModel):
    type: Literal["dockerfile"]
    dockerfile: str = Field(min_length=1, max_length=100_000)


Source = Annotated[
    ImageSourceIn | GithubSourceIn | GitSourceIn | DockerfileSourceIn, Field(discriminator="type")
]


class DomainIn(InputModel):
    host: str = Field(
        max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    )
    port: int = Field(default=80, ge=1, le=65535)
    https: bool = True
    path: UrlPath = "/"


class PortIn(InputModel):
    published: int = Field(ge=1024, le=65535)
    target: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class MountIn(InputModel):
    """Only named volumes: bind mounts would reach into the host."""

    type: str = "volume"
    name: Annotated[Name, BeforeValidator(_volume_name)]

    @model_validator(mode="before")
    @classmethod
    def _no_host_paths(cls, data: object) -> object:
        if isinstance(data, dict) and {"hostPath", "host_path", "source"} & data.keys():
            raise ValueError(BIND_MOUNTS)
        return data

    mount_path: str = Field(pattern=r"^/[^\s]*$", max_length=500)


class AppIn(InputModel):
    service_name: Name
    source: Source
    env: dict[str, str] = Field(default_factory=dict)
    secret_keys: list[str] = Field(default_factory=list, max_length=200)
    domains: list[DomainIn] = Field(default_factory=list, max_length=20)
    ports: list[PortIn] = Field(default_factory=list, max_length=20)
    mounts: list[MountIn] = Field(default_factory=list, max_length=20)
    resources: ResourcesIn = Field(default_factory=ResourcesIn)


class DatabaseIn(InputModel):
    type: DatabaseType
    service_name: Name
    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,40}$")
    resources: ResourcesIn = Field(default_factory=ResourcesIn)

    @field_validator("service_name")
    @classmethod
    def _database_name(cls, name: str, info: ValidationInfo) -> str:
        """The service name becomes the database name (`-` read as `_`): every engine wants it
        to start with a letter."""
        engine = info.data.get("type")
        if engine is not None and engine != "redis" and not name[:1].isalpha():
            raise ValueError(
                f"must start with a letter: it becomes the name of the {engine} database"
            )
        return name


class TemplateDeployIn(InputModel):
    template_id: uuid.UUID
    inputs: dict[str, object] = Field(default_factory=dict)
    service_prefix: Name | None = None


class EnvIn(InputModel):
    env: dict[str, str]
    secret_keys: list[str] | None = None


class ResourcesOut(ApiModel):
    cpu_cores: float
    memory_gb: float
    storage_gb: float


class ConnectionOut(ApiModel):
    host: str
    port: int
    user: str | None
    password: str
    database: str | None
    url: str


class ServiceOut(ApiModel):
    id: uuid.UUID
    project_name: str
    service_name: str
    easypanel_service_name: str
    service_type: str
    status: str
    status_message: str
    """The status in a plain sentence, with the reason when something is wrong."""
    address: str | None = None
    """An app's default https address on the platform's service domain."""
    desired_state: str
    last_error: str | None
    resources: ResourcesOut
    configuration: dict[str, object]
    env: dict[str, str]
    connection: ConnectionOut | None
    created_at: datetime
    updated_at: datetime
    operation: OperationRef | None = None
    """The change this request queued, when it queued one (the answer is then 202)."""
    degraded: Degraded | None = None
    """Set while the service's Easypanel server does not answer: the status is as recorded."""


class LogLineOut(ApiModel):
    timestamp: str | None
    stream: str | None
    message: str


class LogsOut(ApiModel):
    source: Literal["service-logs", "deploy-action", "none"]
    lines: list[LogLineOut]
    next_cursor: str | None
    note: str | None = None
