"""auth, users, projects and project access, against the emulator in both dialects."""

from __future__ import annotations

import pytest

from skypanel.easypanel import EasypanelClient, EasypanelNotFound, EasypanelResourceExists
from skypanel.easypanel.schemas import AppSpec, ImageSource
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import bodies


async def test_get_user_returns_the_token_owner(client: EasypanelClient) -> None:
    user = await client.get_user()

    assert user.email == "admin@example.com"
    assert user.admin is True
    assert user.id.startswith("c")
    assert len(user.id) == 25


async def test_user_lifecycle(client: EasypanelClient, emulator: RunningEmulator) -> None:
    created = await client.create_user("ops@example.com", "s3cret-pass", admin=False)
    await client.update_user(created.id, admin=True, password="n3w-pass")
    users = {user.email: user for user in await client.list_users()}

    assert created.email == "ops@example.com"
    assert created.admin is False
    assert users["ops@example.com"].admin is True
    assert bodies(emulator, "users.createUser") == [
        {"email": "ops@example.com", "password": "s3cret-pass", "admin": False}
    ]
    assert bodies(emulator, "users.updateUser") == [
        {"id": created.id, "admin": True, "password": "n3w-pass"}
    ]

    await client.destroy_user(created.id)

    assert [u.email for u in await client.list_users()] == ["admin@example.com"]
    assert bodies(emulator, "users.destroyUser") == [{"id": created.id}]


async def test_update_user_without_password_sends_only_id_and_admin(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    created = await client.create_user("dev@example.com", "pw-123456")
    await client.update_user(created.id, admin=False)

    assert bodies(emulator, "users.updateUser") == [{"id": created.id, "admin": False}]


async def test_duplicate_user_is_refused(client: EasypanelClient) -> None:
    await client.create_user("dup@example.com", "pw-123456")

    with pytest.raises(EasypanelResourceExists):
        await client.create_user("dup@example.com", "pw-123456")


async def test_project_lifecycle(client: EasypanelClient, emulator: RunningEmulator) -> None:
    project = await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web"))

    listed = await client.list_projects()
    both = await client.list_projects_and_services()
    detail = await client.inspect_project("acme")

    assert project.name == "acme"
    assert project.created_at
    assert [p.name for p in listed] == ["acme"]
    assert [(s.project_name, s.name, s.type) for s in both.services] == [("acme", "web", "app")]
    assert detail.project.name == "acme"
    assert [s.name for s in detail.services] == ["web"]
    assert bodies(emulator, "projects.createProject") == [{"name": "acme"}]
    assert bodies(emulator, "projects.inspectProject") == [{"projectName": "acme"}]
    assert bodies(emulator, "projects.listProjects") == [None]
    assert bodies(emulator, "projects.listProjectsAndServices") == [None]

    await client.destroy_project("acme")

    assert bodies(emulator, "projects.destroyProject") == [{"name": "acme"}]
    assert emulator.controller.snapshot()["projects"] == {}
    assert emulator.controller.snapshot()["services"] == {}


async def test_duplicate_project_and_missing_project(client: EasypanelClient) -> None:
    await client.create_project("acme")

    with pytest.raises(EasypanelResourceExists) as exists:
        await client.create_project("acme")
    with pytest.raises(EasypanelNotFound) as missing:
        await client.inspect_project("nope")

    assert exists.value.procedure == "projects.createProject"
    assert exists.value.retryable is False
    assert missing.value.procedure == "projects.inspectProject"


async def test_update_project_env_sends_a_key_value_string(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.update_project_env("acme", {"REGION": "eu", "TIER": "gold"})

    assert bodies(emulator, "projects.updateProjectEnv") == [
        {"projectName": "acme", "env": "REGION=eu\nTIER=gold\n"}
    ]
    assert (await client.inspect_project("acme")).project.env == "REGION=eu\nTIER=gold\n"


async def test_update_access_grants_and_revokes(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    user = await client.create_user("customer@example.com", "pw-123456")

    await client.update_access("acme", user.id, active=True)
    granted = emulator.controller.access("acme")
    await client.update_access("acme", user.id, active=False)

    assert granted == [user.id]
    assert emulator.controller.access("acme") == []
    assert bodies(emulator, "projects.updateAccess") == [
        {"projectName": "acme", "userId": user.id, "active": True},
        {"projectName": "acme", "userId": user.id, "active": False},
    ]


async def test_get_docker_containers_follows_the_tasks(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web", source=ImageSource(image="nginx")))

    before = await client.get_docker_containers("acme", "web")
    emulator.controller.advance(5)
    after = await client.get_docker_containers("acme", "web")

    assert before == []
    assert len(after) == 1
    assert after[0].image == "nginx"
    assert after[0].state == "running"
    assert after[0].names[0].startswith("/acme_web.1.")
    assert bodies(emulator, "projects.getDockerContainers") == [{"service": "acme_web"}] * 2
