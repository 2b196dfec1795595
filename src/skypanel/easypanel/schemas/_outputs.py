"""Response objects. Outputs are untyped in every spec, so these keep unknown fields (§4)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from skypanel.easypanel.schemas._base import Output, parse_env
from skypanel.easypanel.schemas._fields import DeploySettings, Maintenance, Resources


class User(Output):
    id: str
    email: str = ""
    admin: bool = False
    created_at: str | None = None
    api_token: str | None = None


class Project(Output):
    name: str
    created_at: str | None = None
    env: str | None = None


class Service(Output):
    """Any service as listed by the server; `name` is the service name (not `serviceName`)."""

    type: str
    project_name: str
    name: str
    enabled: bool = True
    env: str | None = None
    resources: Resources | None = None

    @property
    def env_vars(self) -> dict[str, str]:
        return parse_env(self.env)


class AppService(Service):
    source: dict[str, Any] | None = None
    build: dict[str, Any] | None = None
    deploy: DeploySettings | None = None
    maintenance: Maintenance | None = None
    domains: list[dict[str, Any]] = Field(default_factory=list)
    mounts: list[dict[str, Any]] = Field(default_factory=list)
    ports: list[dict[str, Any]] = Field(default_factory=list)
    token: str | None = None
    deployment_url: str | None = None
    create_dot_env: bool | None = None
    dot_env_path: str | None = None


class DatabaseService(Service):
    image: str | None = None
    password: str | None = None
    root_password: str | None = None
    user: str | None = None
    database_name: str | None = None
    exposed_port: int | None = None
    command: str | None = None


class ProjectsAndServices(Output):
    projects: list[Project] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)


class ProjectDetail(Output):
    project: Project
    services: list[Service] = Field(default_factory=list)


class DockerContainer(Output):
    """A Docker Engine ``/containers/json`` object (PascalCase keys)."""

    id: str = Field(alias="Id")
    names: list[str] = Field(default_factory=list, alias="Names")
    image: str | None = Field(default=None, alias="Image")
    state: str | None = Field(default=None, alias="State")
    status: str | None = Field(default=None, alias="Status")


class Action(Output):
    """A build/deploy/start/... action; `status` goes pending -> running? -> done | error."""

    id: str
    type: str | None = None
    status: str
    project_name: str | None = None
    service_name: str | None = None
    description: str | None = None
    created_at: str | float | None = None
    """``2026-07-16 05:55:15`` (UTC) from 2.32; ISO 8601 or epoch milliseconds elsewhere: read
    it with `action_time`."""
    updated_at: str | float | None = None
    log: str | None = None


class TaskStats(Output):
    """Swarm replicas: desired 0 = stopped; actual < desired = down or crash-looping."""

    actual: int
    desired: int


class StorageStat(Output):
    project_name: str
    service_name: str
    size: int
    path: str | None = None


class ServiceStats(Output):
    """Latest usage of one service, read from either monitoring API; None where unknown."""

    project_name: str | None = None
    service_name: str | None = None
    cpu_percent: float | None = None
    memory_bytes: float | None = None
    network_in: float | None = None
    network_out: float | None = None


class LogLine(Output):
    timestamp_ns: int
    line: str


class ServerStatus(Output):
    version: str | None = None
