"""services.app.*, services.compose.* and services.common.* handlers (databases: _h_databases).

Each type registers only the verbs the real server has for it (contract §2.3 matrix); the rest
answer 404 like any unknown procedure.
"""

from __future__ import annotations

import re
import secrets
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
from skypanel.emulator._world import EmulatorError, World, public


def domain_record(world: World, project: str, service: str, spec: DomainSpec) -> dict[str, Any]:
    """A `domains.*` record made from an inline domain; magic names are expanded."""
    generated = f"{project}-{service}".replace("_", "-") + f".{world.service_domain}"
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
    log = f"Deploying {swarm_name(project, name)}\n{_build_log(service)}"
    log += f"Updating service {swarm_name(project, name)}\n"
    return world.add_action("deployment", project, name, "Deploy service", pending=True, log=log)


def _build_log(service: dict[str, Any]) -> str:
    """What a build prints: an image is pulled; code is fetched, built and pushed."""
    source = service["source"]
    if source["type"] == "image":
        digest = secrets.token_hex(32)
        return (
            f"Pulling {source['image']}\nDigest: sha256:{digest}\n"
            f"Status: Image is up to date for {source['image']}\n"
        )
    project, name = service["projectName"], service["name"]
    if source["type"] in ("github", "git"):
        where = (
            f"https://github.com/{source['owner']}/{source['repo']}"
            if source["type"] == "github"
            else source["repo"]
        )
        pinned = re.fullmatch(r"[0-9a-f]{40}", source["ref"])
        sha = source["ref"] if pinned else secrets.token_hex(20)  # a branch moved on
        service["commit"] = {"sha": sha}
        fetched = f"Cloning {where} ({source['ref']})\nHEAD is now at {sha[:7]}\n"
    else:
        fetched = "Writing the Dockerfile\n"
    build = (service.get("build") or {}).get("type", "dockerfile")
    tag = f"easypanel/{project}/{name}:latest"
    return (
        f"{fetched}Building with {build}\n#1 [internal] load build definition\n"
        f"#2 exporting to image {tag}\nPushing {tag}\n"
    )


def check_build(world: World, build: dict[str, Any] | None) -> None:
    """2.2x servers know no railpack builds (their schemas refuse it)."""
    if build is not None and build.get("type") == "railpack" and world.settings.era == "legacy":
        raise EmulatorError("Input validation failed: build.type railpack is not supported")


def deployment_url(world: World, token: str) -> str:
    """The deploy webhook Easypanel shows for an app (`POST` or `GET` it to deploy)."""
    return f"http://{world.settings.instance_id}.easypanel.host/api/deploy/{token}"


def add_app(world: World, project: str, spec: AppSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    check_build(world, data.get("build"))
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
        "deploymentUrl": deployment_url(world, token),
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
