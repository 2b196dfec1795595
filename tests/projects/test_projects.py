from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

PROJECTS = "/api/containers/projects"


async def test_create_list_get_and_delete_a_project(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        PROJECTS,
        headers=alice.headers,
        json={"projectName": "web", "env": {"APP_MODE": "prod", "API_TOKEN": "s3cr3t-value"}},
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert (body["status"], body["operation"]["status"]) == ("creating", "pending")
    assert (await client.get(f"{PROJECTS}/web", headers=alice.headers)).json()["status"] == "active"
    assert body["easypanelProjectName"] == "test-user-s-organization-web"
    assert body["env"] == {"APP_MODE": "prod", "API_TOKEN": "••••••••"}
    state = easypanel.controller.snapshot()
    assert "test-user-s-organization-web" in state["projects"]
    assert "s3cr3t-value" in str(state["projects"]["test-user-s-organization-web"])

    listed = await client.get(PROJECTS, headers=alice.headers)
    assert [p["projectName"] for p in listed.json()] == ["test-user-s-organization", "web"]
    assert listed.json()[1]["serviceCount"] == 0

    detail = await client.get(f"{PROJECTS}/web", headers=alice.headers)
    assert detail.json()["services"] == []

    deleted = await client.delete(f"{PROJECTS}/web", headers=alice.headers)
    assert deleted.status_code == 202
    assert deleted.json()["status"] == "deleting"
    assert (await client.get(f"{PROJECTS}/web", headers=alice.headers)).status_code == 404
    assert "test-user-s-organization-web" not in easypanel.controller.snapshot()["projects"]
    assert (await client.get(f"{PROJECTS}/web", headers=alice.headers)).status_code == 404


@pytest.mark.parametrize("name", ["Web", "my project", "a" * 41, "", "héllo", "../x"])
async def test_invalid_project_names_are_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    name: str,
) -> None:
    await subscribed(client, db, alice)
    response = await client.post(PROJECTS, headers=alice.headers, json={"projectName": name})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "projectName"
    assert await count(db, "container_projects", organization_id=alice.organization_id) == 1


async def test_duplicate_names_conflict_but_two_organizations_may_share_one(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    first = await client.post(PROJECTS, headers=alice.headers, json={"projectName": "web"})
    again = await client.post(PROJECTS, headers=alice.headers, json={"projectName": "web"})
    assert (first.status_code, again.status_code) == (202, 409)
    assert again.json()["error"]["code"] == "PROJECT_EXISTS"
    theirs = await client.post(PROJECTS, headers=bob.headers, json={"projectName": "web"})
    assert theirs.status_code == 202
    assert theirs.json()["easypanelProjectName"] != first.json()["easypanelProjectName"]
    names = set(easypanel.controller.snapshot()["projects"])
    assert {first.json()["easypanelProjectName"], theirs.json()["easypanelProjectName"]} <= names


async def test_creating_a_project_needs_a_subscription(
    client: httpx.AsyncClient, server: EasypanelServer, alice: Account
) -> None:
    response = await client.post(PROJECTS, headers=alice.headers, json={"projectName": "web"})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "SUBSCRIPTION_REQUIRED"


async def test_project_env_update_is_masked_and_sent(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    await client.post(PROJECTS, headers=alice.headers, json={"projectName": "api"})
    updated = await client.put(
        f"{PROJECTS}/api/env",
        headers=alice.headers,
        json={"env": {"DB_PASSWORD": "hunter2hunter2", "REGION": "eu"}},
    )
    assert updated.status_code == 202
    assert updated.json()["env"] == {"DB_PASSWORD": "••••••••", "REGION": "eu"}
    project = easypanel.controller.snapshot()["projects"]["test-user-s-organization-api"]
    assert "DB_PASSWORD=hunter2hunter2" in project["env"]
    bad = await client.put(
        f"{PROJECTS}/api/env", headers=alice.headers, json={"env": {"1BAD": "x"}}
    )
    assert bad.status_code == 422
