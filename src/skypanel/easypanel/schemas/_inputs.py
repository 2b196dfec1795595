"""Inputs of the procedures, field for field as the server's schemas name them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from skypanel.easypanel.schemas._base import AbsolutePath, Email, Input, Name, NonEmpty
from skypanel.easypanel.schemas._fields import AppBuild, DeploySettings, Maintenance, Resources
from skypanel.easypanel.schemas._specs import (
    AnyDatabaseSpec,
    AppSpec,
    ComposeSpec,
    MariadbSpec,
    MongoSpec,
    MysqlSpec,
    PostgresSpec,
    RedisSpec,
    TemplateService,
)


class ProjectRef(Input):
    project_name: Name


class ProjectNameInput(Input):
    """createProject and destroyProject take `name`, not `projectName` (contract §7)."""

    name: Name


class ServiceRef(Input):
    project_name: Name
    service_name: Name


class IdInput(Input):
    id: str


class CreateUserInput(Input):
    email: Email
    password: str
    admin: bool


class UpdateUserInput(Input):
    id: str
    admin: bool
    password: str | None = None


class UpdateProjectEnvInput(Input):
    project_name: Name
    env: str | None = None


class UpdateAccessInput(Input):
    project_name: Name
    user_id: str
    active: bool


class DockerContainersInput(Input):
    service: str


class CreateAppInput(AppSpec):
    project_name: Name


class CreatePostgresInput(PostgresSpec):
    project_name: Name


class CreateMysqlInput(MysqlSpec):
    project_name: Name


class CreateMariadbInput(MariadbSpec):
    project_name: Name


class CreateMongoInput(MongoSpec):
    project_name: Name


class CreateRedisInput(RedisSpec):
    project_name: Name


class CreateComposeInput(ComposeSpec):
    project_name: Name


class DeployInput(ServiceRef):
    force_rebuild: bool = False


class UpdateSourceImageInput(ServiceRef):
    image: NonEmpty
    username: str | None = None
    password: str | None = None


class UpdateSourceGithubInput(ServiceRef):
    owner: NonEmpty
    repo: NonEmpty
    ref: NonEmpty
    path: AbsolutePath


class UpdateSourceGitInput(ServiceRef):
    repo: NonEmpty
    ref: NonEmpty
    path: AbsolutePath


class UpdateSourceDockerfileInput(ServiceRef):
    dockerfile: NonEmpty


class UpdateEnvInput(ServiceRef):
    """2.16-2.30 know `createDotEnv`, 2.31+ `dotEnvPath`; the client carries over what it reads."""

    env: str = ""
    create_dot_env: bool | None = None
    dot_env_path: NonEmpty | None = None


class UpdateResourcesInput(ServiceRef):
    resources: Resources | None = None


class UpdateDeployInput(ServiceRef):
    deploy: DeploySettings | None = None


class UpdateBuildInput(ServiceRef):
    build: AppBuild | None = None


class UpdateMaintenanceInput(ServiceRef):
    maintenance: Maintenance | None = None


class UpdateCredentialsInput(ServiceRef):
    """postgres, mongo and redis."""

    password: str


class UpdateRootCredentialsInput(ServiceRef):
    """mysql and mariadb require the root password as well."""

    password: str
    root_password: str


class TemplateSchema(Input):
    services: list[TemplateService]


class CreateFromSchemaInput(Input):
    name: str | None = None
    project_name: Name
    template: TemplateSchema = Field(alias="schema")


class ListActionsInput(Input):
    project_name: Name | None = None
    service_name: Name | None = None
    limit: int = Field(default=8, ge=1)
    type: str | None = None


class ServiceStatsInput(ServiceRef):
    range: int | None = Field(default=None, ge=1)
    step: str | None = None


class QueryLogsInput(ServiceRef):
    """`start`/`end` are nanosecond epochs as strings; a number is refused (contract §2.8)."""

    start: str | None = None
    end: str | None = None
    levels: list[str] | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    search: str | None = None
    stream: Literal["stdout", "stderr"] | None = None


_CREATE_INPUTS: dict[type[Input], type[Input]] = {
    AppSpec: CreateAppInput,
    ComposeSpec: CreateComposeInput,
    MariadbSpec: CreateMariadbInput,
    MysqlSpec: CreateMysqlInput,
    PostgresSpec: CreatePostgresInput,
    MongoSpec: CreateMongoInput,
    RedisSpec: CreateRedisInput,
}


DATABASE_CREATE_INPUTS: dict[str, type[Input]] = {
    "postgres": CreatePostgresInput,
    "mysql": CreateMysqlInput,
    "mariadb": CreateMariadbInput,
    "mongo": CreateMongoInput,
    "redis": CreateRedisInput,
}


def create_input(project: str, spec: AppSpec | AnyDatabaseSpec | ComposeSpec) -> Input:
    """The createService input of a service spec placed in a project."""
    model = _CREATE_INPUTS[type(spec)]
    return model.model_validate({**spec.model_dump(), "projectName": project})
