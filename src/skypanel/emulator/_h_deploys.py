"""build and deploy settings, GitHub deploy webhooks and deployments.

`services.app.updateBuild` replaces the build wholesale; `enableGithubDeploy` and
`disableGithubDeploy` turn a GitHub app's push deploys (`source.autoDeploy`) on and off;
`refreshDeployToken` rotates the token of the app's deploy webhook, which `deploy_webhook`
answers at ``/api/deploy/<token>`` by starting a deployment as a push would.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from skypanel.easypanel.schemas import ServiceRef, UpdateBuildInput, random_password
from skypanel.emulator._h_services import check_build, deploy, deployment_url
from skypanel.emulator._registry import procedure
from skypanel.emulator._world import EmulatorError, World


@procedure("services.app.updateBuild", UpdateBuildInput, void=True)
def update_build(world: World, body: UpdateBuildInput) -> None:
    service = world.service(body.project_name, body.service_name, "app")
    build = None if body.build is None else body.build.wire()
    check_build(world, build)
    if build is None:
        service.pop("build", None)
    else:
        service["build"] = build


def _github(world: World, body: ServiceRef) -> dict[str, Any]:
    service = world.service(body.project_name, body.service_name, "app")
    source = service.get("source") or {}
    if source.get("type") != "github":
        raise EmulatorError("GitHub deploys need a GitHub source")
    return source


@procedure("services.app.enableGithubDeploy", ServiceRef, void=True)
def enable_github_deploy(world: World, body: ServiceRef) -> None:
    _github(world, body)["autoDeploy"] = True


@procedure("services.app.disableGithubDeploy", ServiceRef, void=True)
def disable_github_deploy(world: World, body: ServiceRef) -> None:
    _github(world, body)["autoDeploy"] = False


@procedure("services.app.refreshDeployToken", ServiceRef, void=True)
def refresh_deploy_token(world: World, body: ServiceRef) -> None:
    service = world.service(body.project_name, body.service_name, "app")
    service["token"] = random_password()
    service["deploymentUrl"] = deployment_url(world, service["token"])


def push(world: World, token: str) -> bool:
    """What a push to the deploy webhook does: deploy the app with this token, if any."""
    for service in world.state.services.values():
        if service["type"] == "app" and service.get("token") == token:
            deploy(world, service)
            return True
    return False


def deploy_webhook(world: World) -> Route:
    """``GET|POST /api/deploy/<token>``: no login, the token is the secret (contract §1.4)."""

    async def endpoint(request: Request) -> Response:
        with world.lock:
            world.settle()
            found = push(world, request.path_params["token"])
            world.persist()
        if not found:
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse("Deploying...")

    return Route("/api/deploy/{token}", endpoint, methods=["GET", "POST"])
