"""services.app.*: creation, lifecycle, sources and whole-field updates done as read-merge-write."""

from __future__ import annotations

from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.schemas import (
    AppSpec,
    DeployPatch,
    DeploySettings,
    DomainSpec,
    ImageSource,
    Maintenance,
    PortSpec,
    Resources,
    ResourcesPatch,
    VolumeMount,
)
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import DEPLOY_DELAY, bodies

REF = {"projectName": "acme", "serviceName": "web"}


async def _app(client: EasypanelClient, *, source: bool = True) -> None:
    await client.create_project("acme")
    spec = AppSpec(service_name="web", source=ImageSource(image="nginx:1.27") if source else None)
    await client.create_app("acme", spec)


async def test_create_app_sends_nested_objects(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    spec = AppSpec(
        service_name="web",
        source=ImageSource(image="ghcr.io/acme/web:1", username="bot", password="pat"),
        env="A=1\n",
        deploy=DeploySettings(replicas=2),
        domains=[DomainSpec(host="$(EASYPANEL_DOMAIN)", port=8080)],
        mounts=[VolumeMount(name="data", mount_path="/data")],
        ports=[PortSpec(published=2222, target=22)],
        resources=Resources(
            cpu_limit=1, cpu_reservation=0.5, memory_limit=512, memory_reservation=256
        ),
    )

    app = await client.create_app("acme", spec)

    assert bodies(emulator, "services.app.createService") == [
        {
            "projectName": "acme",
            "serviceName": "web",
            "source": {
                "type": "image",
                "image": "ghcr.io/acme/web:1",
                "username": "bot",
                "password": "pat",
            },
            "env": "A=1\n",
            "deploy": {"replicas": 2, "command": None, "zeroDowntime": True},
            "domains": [
                {
                    "host": "$(EASYPANEL_DOMAIN)",
                    "https": True,
                    "port": 8080,
                    "path": "/",
                    "wildcard": False,
                    "internalProtocol": "http",
                }
            ],
            "mounts": [{"type": "volume", "name": "data", "mountPath": "/data"}],
            "ports": [{"published": 2222, "target": 22, "protocol": "tcp"}],
            "resources": {
                "cpuLimit": 1,
                "cpuReservation": 0.5,
                "memoryLimit": 512,
                "memoryReservation": 256,
            },
        }
    ]
    assert app.name == "web"
    assert app.type == "app"
    assert app.project_name == "acme"
    assert app.deploy == DeploySettings(replicas=2)
    assert app.resources == Resources(
        cpu_limit=1, cpu_reservation=0.5, memory_limit=512, memory_reservation=256
    )
    assert app.domains[0]["host"].startswith("acme-web.")
    assert app.domains[0]["host"].endswith(".easypanel.host")
    assert app.token
    assert app.deployment_url
    assert app.deployment_url.endswith(app.token)


async def test_inline_source_deploys_and_the_action_completes(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)

    pending = await client.list_actions("acme", "web")
    tasks_before = (await client.get_task_stats())["acme_web"]
    emulator.controller.advance(DEPLOY_DELAY)
    done = await client.list_actions("acme", "web")
    action = await client.get_action(done[0].id)

    assert [(a.type, a.status) for a in pending] == [("deployment", "pending")]
    assert (tasks_before.desired, tasks_before.actual) == (1, 0)
    assert [(a.type, a.status) for a in done] == [("deployment", "done")]
    assert action.log
    assert "nginx:1.27" in action.log
    assert action.log.endswith("Done.\n")
    assert emulator.controller.tasks("acme", "web") == (1, 1)


async def test_deploy_stop_start_restart_destroy(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)
    emulator.controller.advance(DEPLOY_DELAY)

    await client.deploy_app("acme", "web", force_rebuild=True)
    emulator.controller.advance(DEPLOY_DELAY)
    await client.stop_app("acme", "web")
    stopped = emulator.controller.tasks("acme", "web")
    await client.start_app("acme", "web")
    emulator.controller.advance(DEPLOY_DELAY)
    started = emulator.controller.tasks("acme", "web")
    await client.restart_app("acme", "web")
    restarting = emulator.controller.tasks("acme", "web")
    await client.destroy_app("acme", "web")

    assert bodies(emulator, "services.app.deployService") == [{**REF, "forceRebuild": True}]
    for verb in ("stopService", "startService", "restartService", "destroyService"):
        assert bodies(emulator, f"services.app.{verb}") == [REF]
    assert stopped == (0, 0)
    assert started == (1, 1)
    assert restarting == (1, 0)
    assert emulator.controller.service("acme", "web") is None
    types = [a.type for a in await client.list_actions("acme", "web", limit=10)]
    assert types == ["destroy", "start", "start", "stop", "deployment", "deployment"]


async def test_deploy_without_source_fails_fast(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client, source=False)

    await client.deploy_app("acme", "web")

    assert [(a.type, a.status) for a in await client.list_actions("acme", "web")] == [
        ("deployment", "error")
    ]
    assert emulator.controller.tasks("acme", "web") == (0, 0)


async def test_update_sources(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await _app(client)

    await client.update_app_source_image("acme", "web", "nginx:2", username="u", password="p")
    image = (await client.inspect_app("acme", "web")).source
    await client.update_app_source_github("acme", "web", owner="acme", repo="site", ref="main")
    github = (await client.inspect_app("acme", "web")).source
    await client.update_app_source_git(
        "acme", "web", repo="https://git.example.com/x.git", ref="v1", path="/app"
    )
    git = (await client.inspect_app("acme", "web")).source
    await client.update_app_source_dockerfile("acme", "web", "FROM nginx\n")
    dockerfile = (await client.inspect_app("acme", "web")).source

    assert bodies(emulator, "services.app.updateSourceImage") == [
        {**REF, "image": "nginx:2", "username": "u", "password": "p"}
    ]
    assert bodies(emulator, "services.app.updateSourceGithub") == [
        {**REF, "owner": "acme", "repo": "site", "ref": "main", "path": "/"}
    ]
    assert bodies(emulator, "services.app.updateSourceGit") == [
        {**REF, "repo": "https://git.example.com/x.git", "ref": "v1", "path": "/app"}
    ]
    assert bodies(emulator, "services.app.updateSourceDockerfile") == [
        {**REF, "dockerfile": "FROM nginx\n"}
    ]
    assert image == {"type": "image", "image": "nginx:2", "username": "u", "password": "p"}
    assert github == {
        "type": "github",
        "owner": "acme",
        "repo": "site",
        "ref": "main",
        "path": "/",
        "autoDeploy": False,
    }
    assert git == {
        "type": "git",
        "repo": "https://git.example.com/x.git",
        "ref": "v1",
        "path": "/app",
    }
    assert dockerfile == {"type": "dockerfile", "dockerfile": "FROM nginx\n"}


async def test_patch_env_keeps_the_other_variables(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web", env="A=1\r\nB=2\r\n"))

    result = await client.patch_app_env("acme", "web", values={"B": "3", "C": "x=y"}, remove=["A"])
    await client.update_app_env("acme", "web", {"ONLY": "1"})

    assert result == {"B": "3", "C": "x=y"}
    assert bodies(emulator, "services.app.updateEnv") == [
        {**REF, "env": "B=3\nC=x=y\n"},
        {**REF, "env": "ONLY=1\n"},
    ]
    assert (await client.inspect_app("acme", "web")).env_vars == {"ONLY": "1"}


async def test_patch_env_carries_the_dot_env_setting(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await _app(client)
    setting = {"dotEnvPath": "/app/.env"} if dialect == "orpc" else {"createDotEnv": True}
    await client.call("services.app.updateEnv", {**REF, "env": "A=1\n", **setting})

    await client.patch_app_env("acme", "web", values={"B": "2"})

    assert bodies(emulator, "services.app.updateEnv")[-1] == {**REF, "env": "A=1\nB=2\n", **setting}


async def test_resources_patch_is_merged_with_the_current_values(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)

    first = await client.update_app_resources("acme", "web", ResourcesPatch(memory_limit=512))
    second = await client.update_app_resources("acme", "web", ResourcesPatch(cpu_limit=1.5))
    full = Resources(cpu_limit=0, cpu_reservation=0, memory_limit=0, memory_reservation=0)
    inspections = len(bodies(emulator, "services.app.inspectService"))
    await client.update_app_resources("acme", "web", full)

    assert bodies(emulator, "services.app.updateResources") == [
        {
            **REF,
            "resources": {
                "cpuLimit": 0,
                "cpuReservation": 0,
                "memoryLimit": 512,
                "memoryReservation": 0,
            },
        },
        {
            **REF,
            "resources": {
                "cpuLimit": 1.5,
                "cpuReservation": 0,
                "memoryLimit": 512,
                "memoryReservation": 0,
            },
        },
        {
            **REF,
            "resources": {
                "cpuLimit": 0,
                "cpuReservation": 0,
                "memoryLimit": 0,
                "memoryReservation": 0,
            },
        },
    ]
    assert first.memory_limit == 512
    assert second.cpu_limit == 1.5
    assert len(bodies(emulator, "services.app.inspectService")) == inspections == 2


async def test_deploy_patch_is_merged_and_command_can_be_cleared(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _app(client)

    await client.update_app_deploy("acme", "web", DeployPatch(replicas=3, command="npm start"))
    await client.update_app_deploy("acme", "web", DeployPatch(zero_downtime=False))
    cleared = await client.update_app_deploy("acme", "web", DeployPatch(command=None))

    assert bodies(emulator, "services.app.updateDeploy") == [
        {**REF, "deploy": {"replicas": 3, "command": "npm start", "zeroDowntime": True}},
        {**REF, "deploy": {"replicas": 3, "command": "npm start", "zeroDowntime": False}},
        {**REF, "deploy": {"replicas": 3, "command": None, "zeroDowntime": False}},
    ]
    assert cleared == DeploySettings(replicas=3, command=None, zero_downtime=False)
    assert (await client.inspect_app("acme", "web")).deploy == cleared


async def test_update_maintenance(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await _app(client)

    await client.update_app_maintenance("acme", "web", Maintenance(enabled=True, title="Back soon"))

    assert bodies(emulator, "services.app.updateMaintenance") == [
        {**REF, "maintenance": {"enabled": True, "title": "Back soon"}}
    ]
    assert (await client.inspect_app("acme", "web")).maintenance == Maintenance(
        enabled=True, title="Back soon"
    )
