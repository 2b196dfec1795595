"""services.app.*, services.compose.* and services.common.* handlers (databases: _h_databases).

Each type registers only the verbs the real server has for it (contract §2.3 matrix); the rest
answer 404 like any unknown procedure.
"""

from __future__ import annotations

from typing import Any

from skypanel.easypanel import DATABASE_TYPES, swarm_name
from skypanel.easypanel.schemas import (
    AppSpec,
    ComposeSpec,
    CreateAppInput,
    DeployInput,
    DeploySettings,
    DomainSpec,
    Input,
    ServiceRef,
    UpdateDeployInput,
    UpdateEnvInput,
    UpdateMaintenanceInput,
    UpdateResourcesInput,
    UpdateSourceDockerfileInput,
    UpdateSourceGithubInput,
    UpdateSourceGitInput,
    UpdateSourceImageInput,
    random_password,
)
from skypanel.emulator._registry import procedure
from skypanel.emulator._state import new_id
from skypanel.emulator._world import World, public


def domain_record(world: World, project: str, service: str, spec: DomainSpec) -> dict[str, Any]:
    """A `domains.*` record made from an inline domain; magic names are expanded."""
    generated = f"{project}-{service}.{world.settings.instance_id}.easypanel.host".replace("_", "-")
    host = spec.host.replace("$(EASYPANEL_DOMAIN)", generated)
    host = host.replace("$(PROJECT_NAME)", project).replace("$(SERVICE_NAME)", service)
    return {
        "id": new_id(),
        "host": host,
        "https": spec.https,
        "path": spec.path,
        "middlewares": spec.middlewares or [],
        "certificateResolver": spec.certificate_resolver or "",
        "wildcard": spec.wildcard,
        "destinationType": "service",
        "serviceDestination": {
            "protocol": spec.internal_protocol,
            "port": spec.port,
            "path": "/",
            "projectName": project,
            "serviceName": service,
            "composeService": spec.service or "",
        },
    }


def deploy(world: World, service: dict[str, Any]) -> dict[str, Any]:
    """Queue a build: the action is pending until the deploy delay has passed."""
    project, name = service["projectName"], service["name"]
    if not service.get("source"):
        return world.add_action(
            "deployment",
            project,
            name,
            "Deploy service",
            pending=False,
            status="error",
            log="No source configured.\n",
        )
    replicas = int(service.get("deploy", {}).get("replicas", 1))
    world.run(project, name, replicas)
    image = service["source"].get("image") or f"easypanel/{project}/{name}"
    log = f"Deploying {swarm_name(project, name)}\nPulling {image}\n"
    return world.add_action("deployment", project, name, "Deploy service", pending=True, log=log)


def add_app(world: World, project: str, spec: AppSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    token = random_password()
    service = {
        "type": "app",
        "projectName": project,
        "name": spec.service_name,
        "env": spec.env or "",
        "deploy": (spec.deploy or DeploySettings()).wire(),
        "domains": [
            domain_record(world, project, spec.service_name, d) for d in spec.domains or []
        ],
        "mounts": data.get("mounts", []),
        "ports": data.get("ports", []),
        "basicAuth": data.get("basicAuth", []),
        "redirects": [],
        "maintenance": data.get("maintenance", {"enabled": False}),
        "token": token,
        "deploymentUrl": f"http://{world.settings.instance_id}.easypanel.host/api/deploy/{token}",
    }
    service |= {key: data[key] for key in ("source", "build", "resources") if key in data}
    world.add_service(service)
    if spec.source is not None:
        deploy(world, service)
    return service


def add_compose(world: World, project: str, spec: ComposeSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    service = {
        "type": "compose",
        "projectName": project,
        "name": spec.service_name,
        "env": spec.env or "",
        "source": data.get("source"),
        "domains": [
            domain_record(world, project, spec.service_name, d) for d in spec.domains or []
        ],
    }
    world.add_service(service)
    world.run(project, spec.service_name, 1)
    return service


@procedure("services.app.createService", CreateAppInput)
def create_app(world: World, body: CreateAppInput) -> Any:
    return public(add_app(world, body.project_name, body))


@procedure("services.app.deployService", DeployInput, void=True)
def deploy_app(world: World, body: DeployInput) -> None:
    deploy(world, world.service(body.project_name, body.service_name, "app"))


def _register_common(kind: str) -> None:
    @procedure(f"services.{kind}.inspectService", ServiceRef)
    def inspect(world: World, body: ServiceRef) -> Any:
        return public(world.service(body.project_name, body.service_name, kind))

    @procedure(f"services.{kind}.destroyService", ServiceRef, void=True)
    def destroy(world: World, body: ServiceRef) -> None:
        world.service(body.project_name, body.service_name, kind)
        world.remove_service(body.project_name, body.service_name)
        world.add_action("destroy", body.project_name, body.service_name, "Destroy", pending=False)


def _register_app_lifecycle() -> None:
    @procedure("services.app.startService", ServiceRef, void=True)
    def start(world: World, body: ServiceRef) -> None:
        service = world.service(body.project_name, body.service_name, "app")
        world.run(body.project_name, body.service_name, int(service["deploy"].get("replicas", 1)))
        world.add_action("start", body.project_name, body.service_name, "Start", pending=False)

    @procedure("services.app.stopService", ServiceRef, void=True)
    def stop(world: World, body: ServiceRef) -> None:
        world.service(body.project_name, body.service_name, "app")
        world.halt(body.project_name, body.service_name)
        world.add_action("stop", body.project_name, body.service_name, "Stop", pending=False)

    @procedure("services.app.restartService", ServiceRef, void=True)
    def restart(world: World, body: ServiceRef) -> None:
        service = world.service(body.project_name, body.service_name, "app")
        world.halt(body.project_name, body.service_name)
        world.run(body.project_name, body.service_name, int(service["deploy"].get("replicas", 1)))
        world.add_action("start", body.project_name, body.service_name, "Restart", pending=False)


def _register_app_updates() -> None:
    def field_update(name: str, model: type[ServiceRef], value: Any) -> None:
        @procedure(f"services.app.{name}", model, void=True)
        def update(world: World, body: Any) -> None:
            service = world.service(body.project_name, body.service_name, "app")
            service.update(value(body))
            for key in [k for k, v in service.items() if v is None]:
                del service[key]

    def wire(model: Input | None) -> dict[str, Any] | None:
        return None if model is None else model.wire()

    field_update(
        "updateSourceImage",
        UpdateSourceImageInput,
        lambda b: {
            "source": {"type": "image", **b.model_dump(include={"image", "username", "password"})}
        },
    )
    field_update(
        "updateSourceGithub",
        UpdateSourceGithubInput,
        lambda b: {
            "source": {
                "type": "github",
                **b.model_dump(include={"owner", "repo", "ref", "path"}),
                "autoDeploy": False,
            }
        },
    )
    field_update(
        "updateSourceGit",
        UpdateSourceGitInput,
        lambda b: {"source": {"type": "git", **b.model_dump(include={"repo", "ref", "path"})}},
    )
    field_update(
        "updateSourceDockerfile",
        UpdateSourceDockerfileInput,
        lambda b: {"source": {"type": "dockerfile", "dockerfile": b.dockerfile}},
    )
    field_update(
        "updateEnv",
        UpdateEnvInput,
        lambda b: {"env": b.env, "createDotEnv": b.create_dot_env, "dotEnvPath": b.dot_env_path},
    )
    field_update(
        "updateResources", UpdateResourcesInput, lambda b: {"resources": wire(b.resources)}
    )
    field_update(
        "updateDeploy",
        UpdateDeployInput,
        lambda b: {"deploy": (b.deploy or DeploySettings()).wire()},
    )
    field_update(
        "updateMaintenance",
        UpdateMaintenanceInput,
        lambda b: {"maintenance": wire(b.maintenance) or {"enabled": False}},
    )


@procedure("services.common.getServiceError", ServiceRef)
def get_service_error(world: World, body: ServiceRef) -> Any:
    world.service(body.project_name, body.service_name)
    error = world.runtime(body.project_name, body.service_name).error
    return None if error is None else {"message": error}


for _kind in ("app", *DATABASE_TYPES, "compose"):
    _register_common(_kind)
_register_app_lifecycle()
_register_app_updates()
