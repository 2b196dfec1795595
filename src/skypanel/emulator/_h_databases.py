"""services.<database>.* handlers: postgres, mysql, mariadb, mongo, redis.

Databases run as soon as they are created; enable/disable start and stop them. There is no
deploy, start, stop or restart: those routes do not exist and answer 404 (contract §2.3).
"""

from __future__ import annotations

from typing import Any

from skypanel.easypanel import DATABASE_TYPES, DatabaseType
from skypanel.easypanel.schemas import (
    DATABASE_CREATE_INPUTS,
    DatabaseSpec,
    ServiceRef,
    UpdateCredentialsInput,
    UpdateResourcesInput,
    UpdateRootCredentialsInput,
    random_password,
)
from skypanel.emulator._registry import procedure
from skypanel.emulator._world import EmulatorError, World, public

_IMAGES = {"postgres": "postgres:17", "mysql": "mysql:9", "mariadb": "mariadb:11"}
_IMAGES |= {"mongo": "mongo:8", "redis": "redis:7"}
_USERS = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mariadb", "mongo": "mongo"}
_TOOLS = {"postgres": "pgWeb", "mysql": "phpMyAdmin", "mariadb": "phpMyAdmin"}
_TOOLS |= {"mongo": "mongoExpress", "redis": "redisCommander"}
_WITH_DATABASE_NAME = frozenset({"postgres", "mysql", "mariadb"})


def add_database(
    world: World, project: str, kind: DatabaseType, spec: DatabaseSpec
) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    data.pop("serviceName")
    data.pop("projectName", None)
    service: dict[str, Any] = {"type": kind, "projectName": project, "name": spec.service_name}
    service |= {"image": _IMAGES[kind], "password": random_password()}
    if kind in _USERS:
        service["user"] = _USERS[kind]
    if kind in _WITH_DATABASE_NAME:
        service["databaseName"] = project
    if kind in ("mysql", "mariadb"):
        service["rootPassword"] = random_password()
    if kind != "redis":
        service["env"] = ""
    for tool in ("dbGate", _TOOLS[kind]):
        service[tool] = {"enabled": False, "token": random_password()} | data.pop(tool, {})
    service |= data
    world.add_service(service)
    world.run(project, spec.service_name, 1)
    return service


def _register_database(kind: DatabaseType) -> None:
    model = DATABASE_CREATE_INPUTS[kind]

    @procedure(f"services.{kind}.createService", model)
    def create(world: World, body: Any) -> Any:
        return public(add_database(world, body.project_name, kind, body))

    @procedure(f"services.{kind}.enableService", ServiceRef, void=True)
    def enable(world: World, body: ServiceRef) -> None:
        world.service(body.project_name, body.service_name, kind)["enabled"] = True
        world.run(body.project_name, body.service_name, 1)

    @procedure(f"services.{kind}.disableService", ServiceRef, void=True)
    def disable(world: World, body: ServiceRef) -> None:
        world.service(body.project_name, body.service_name, kind)["enabled"] = False
        world.halt(body.project_name, body.service_name)

    @procedure(f"services.{kind}.updateResources", UpdateResourcesInput, void=True)
    def resources(world: World, body: UpdateResourcesInput) -> None:
        service = world.service(body.project_name, body.service_name, kind)
        if body.resources is None:
            service.pop("resources", None)
        else:
            service["resources"] = body.resources.wire()

    credentials = (
        UpdateRootCredentialsInput if kind in ("mysql", "mariadb") else UpdateCredentialsInput
    )

    @procedure(f"services.{kind}.updateCredentials", credentials, void=True)
    def update_credentials(world: World, body: Any) -> None:
        service = world.service(body.project_name, body.service_name, kind)
        if not world.runtime(body.project_name, body.service_name).actual:
            raise EmulatorError("Invariant failed")
        service["password"] = body.password
        if isinstance(body, UpdateRootCredentialsInput):
            service["rootPassword"] = body.root_password


for _database in DATABASE_TYPES:
    _register_database(_database)
