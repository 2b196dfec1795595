"""services.app build settings, GitHub push deploys, the deploy webhook and deploy actions."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.easypanel._deploys import DEPLOYMENT, action_time
from skypanel.easypanel.schemas import (
    AppSpec,
    BuildpacksBuild,
    DockerfileBuild,
    GithubSource,
    HerokuBuildpacksBuild,
    NixpacksBuild,
    PaketoBuildpacksBuild,
    RailpackBuild,
)
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import DEPLOY_DELAY, bodies

REF = {"projectName": "acme", "serviceName": "web"}
GITHUB = GithubSource(owner="acme", repo="web", ref="main", path="/")


async def _github_app(client: EasypanelClient) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web", source=GITHUB))


async def test_build_settings_round_trip_in_both_dialects(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _github_app(client)

    await client.update_app_build("acme", "web", NixpacksBuild(start_command="npm start"))
    nixpacks = (await client.inspect_app("acme", "web")).build
    await client.update_app_build("acme", "web", BuildpacksBuild(buildpacks_builder="b:1"))
    buildpacks = (await client.inspect_app("acme", "web")).build
    await client.update_app_build("acme", "web", DockerfileBuild(file="Dockerfile.prod"))
    dockerfile = (await client.inspect_app("acme", "web")).build

    assert bodies(emulator, "services.app.updateBuild") == [
        {**REF, "build": {"type": "nixpacks", "startCommand": "npm start"}},
        {**REF, "build": {"type": "buildpacks", "buildpacksBuilder": "b:1"}},
        {**REF, "build": {"type": "dockerfile", "file": "Dockerfile.prod"}},
    ]
    assert nixpacks == {"type": "nixpacks", "startCommand": "npm start"}
    assert buildpacks == {"type": "buildpacks", "buildpacksBuilder": "b:1"}
    assert dockerfile == {"type": "dockerfile", "file": "Dockerfile.prod"}


@pytest.mark.parametrize("dialect", ["orpc"])
async def test_the_2_32_build_types(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await _github_app(client)
    seen = []
    for build in (
        HerokuBuildpacksBuild(),
        PaketoBuildpacksBuild(),
        RailpackBuild(install_command="bun i", mise_packages="bun@1"),
    ):
        await client.update_app_build("acme", "web", build)
        seen.append((await client.inspect_app("acme", "web")).build)

    assert seen == [
        {"type": "heroku-buildpacks"},
        {"type": "paketo-buildpacks"},
        {"type": "railpack", "installCommand": "bun i", "misePackages": "bun@1"},
    ]


@pytest.mark.conformance_exempt
@pytest.mark.parametrize("dialect", ["trpc"])
async def test_a_2_23_server_refuses_railpack(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _github_app(client)

    with pytest.raises(EasypanelError, match="railpack"):
        await client.update_app_build("acme", "web", RailpackBuild())

    assert (await client.inspect_app("acme", "web")).build is None


async def test_github_push_deploys_toggle(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _github_app(client)

    await client.enable_github_deploy("acme", "web")
    enabled = (await client.inspect_app("acme", "web")).source
    await client.disable_github_deploy("acme", "web")
    disabled = (await client.inspect_app("acme", "web")).source

    assert bodies(emulator, "services.app.enableGithubDeploy") == [REF]
    assert bodies(emulator, "services.app.disableGithubDeploy") == [REF]
    assert enabled is not None
    assert enabled["autoDeploy"] is True
    assert disabled is not None
    assert disabled["autoDeploy"] is False


@pytest.mark.conformance_exempt
async def test_github_deploys_need_a_github_source(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web"))

    with pytest.raises(EasypanelError, match="GitHub source"):
        await client.enable_github_deploy("acme", "web")


async def test_the_deploy_webhook_deploys_and_a_new_token_retires_it(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _github_app(client)
    emulator.controller.advance(DEPLOY_DELAY)
    old = await client.inspect_app("acme", "web")
    assert old.token is not None
    assert old.deployment_url is not None
    hook = f"{emulator.base_url}/api/deploy/{old.token}"

    async with httpx.AsyncClient() as http:
        pushed = await http.post(hook)
        await client.refresh_deploy_token("acme", "web")
        retired = await http.get(hook)
    new = await client.inspect_app("acme", "web")

    assert (pushed.status_code, pushed.text) == (200, "Deploying...")
    assert retired.status_code == 404
    assert bodies(emulator, "services.app.refreshDeployToken") == [REF]
    assert new.token not in (None, old.token)
    assert new.deployment_url is not None
    assert new.deployment_url.endswith(f"/api/deploy/{new.token}")
    deploys = await client.list_actions("acme", "web", type=DEPLOYMENT)
    assert [a.status for a in deploys] == ["pending", "done"]


async def test_a_deploy_log_reads_like_a_build_and_its_times_parse(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _github_app(client)
    await client.update_app_build("acme", "web", NixpacksBuild())
    await client.deploy_app("acme", "web")
    newest = (await client.list_actions("acme", "web", type=DEPLOYMENT, limit=1))[0]
    running = (await client.get_action(newest.id)).log or ""
    emulator.controller.advance(DEPLOY_DELAY)
    done = await client.get_action(newest.id)

    steps = ["Cloning https://github.com/acme/web (main)", "Building with nixpacks", "Pushing"]
    assert all(step in running for step in steps)
    assert "Updating service acme_web" in running
    assert "Done." not in running
    assert (done.log or "").endswith("Service updated.\nDone.\n")
    started, finished = action_time(done.created_at), action_time(done.updated_at)
    assert started is not None
    assert finished is not None
    assert round((finished - started).total_seconds()) == DEPLOY_DELAY
    if emulator.controller.world.settings.era == "current":
        assert isinstance(done.created_at, str)
        assert len(done.created_at) == 19


def test_action_times_in_every_format() -> None:
    at = datetime(2026, 7, 16, 5, 55, 15, tzinfo=UTC)

    assert action_time("2026-07-16 05:55:15") == at
    assert action_time("2026-07-16T05:55:15.000Z") == at
    assert action_time("2026-07-16T07:55:15+02:00") == at
    assert action_time(at.timestamp() * 1000) == at
    assert action_time("yesterday") is None
    assert action_time(None) is None
