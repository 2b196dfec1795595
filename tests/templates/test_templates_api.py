from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ActivityLog, ContainerTemplate
from skypanel.templates.catalog import sync_catalog
from tests.support import Account, count

UNKNOWN = "00000000-0000-0000-0000-000000000000"
ECHO: dict[str, Any] = {
    "templateName": "echo",
    "displayName": "Echo Server",
    "description": "Answers every request with what it received",
    "category": "Tools",
    "logoUrl": "https://example.com/echo.svg",
    "displayOrder": 5,
    "templateSchema": {
        "inputs": [{"name": "greeting", "label": "Greeting", "default": "hello"}],
        "services": [
            {
                "name": "echo",
                "image": "ealen/echo-server:0.9.2",
                "env": {"GREETING": "${greeting}"},
                "domains": [{"port": 80}],
            }
        ],
    },
}


async def create(client: httpx.AsyncClient, admin: Account, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/containers/admin/templates", headers=admin.headers, json={**ECHO, **changes}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def names(client: httpx.AsyncClient, account: Account, url: str) -> list[str]:
    response = await client.get(url, headers=account.headers)
    assert response.status_code == 200, response.text
    return [t["templateName"] for t in response.json()]


async def test_admin_creates_a_template_that_users_see(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    created = await create(client, admin)
    assert {k: created[k] for k in ECHO if k != "templateSchema"} == {
        k: v for k, v in ECHO.items() if k != "templateSchema"
    }
    assert (created["enabled"], created["builtin"]) == (True, False)
    service = created["templateSchema"]["services"][0]
    assert service["resources"] == {"cpuCores": "0.5", "memoryGb": "0.5", "storageGb": "1"}
    assert service["type"] == "app"
    seen = await client.get(f"/api/containers/templates/{created['id']}", headers=alice.headers)
    assert seen.status_code == 200
    assert seen.json()["displayName"] == "Echo Server"
    async with db() as session:
        events = (
            await session.scalars(
                select(ActivityLog.event_type).where(ActivityLog.entity_id == created["id"])
            )
        ).all()
    assert events == ["container.template.create"]


async def test_duplicate_names_conflict(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account
) -> None:
    await create(client, admin)
    again = await client.post("/api/containers/admin/templates", headers=admin.headers, json=ECHO)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "TEMPLATE_EXISTS"
    assert await count(db, "container_templates") == 1


@pytest.mark.parametrize(
    ("service", "reason"),
    [
        ({"mounts": [{"type": "bind", "hostPath": "/", "mountPath": "/h"}]}, "a bind mount"),
        ({"env": {"DOCKER_HOST": "unix:///var/run/docker.sock"}}, "the Docker socket"),
        ({"privileged": True}, "privileged mode"),
        ({"networkMode": "host"}, "host networking"),
    ],
)
async def test_unsafe_templates_are_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    service: dict[str, Any],
    reason: str,
) -> None:
    schema = copy.deepcopy(ECHO["templateSchema"])
    schema["services"][0] |= service
    response = await client.post(
        "/api/containers/admin/templates",
        headers=admin.headers,
        json={**ECHO, "templateSchema": schema},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "UNSAFE_DEPLOYMENT"
    [violation] = error["details"]["violations"]
    assert violation["service"] == "echo"
    assert violation["reason"].startswith(reason)
    assert await count(db, "container_templates") == 0


async def test_an_unsafe_schema_update_changes_nothing(
    client: httpx.AsyncClient, admin: Account
) -> None:
    created = await create(client, admin)
    schema = copy.deepcopy(ECHO["templateSchema"])
    schema["services"][0]["privileged"] = True
    response = await client.put(
        f"/api/containers/admin/templates/{created['id']}",
        headers=admin.headers,
        json={"templateSchema": schema, "displayName": "Changed"},
    )
    assert response.json()["error"]["code"] == "UNSAFE_DEPLOYMENT"
    listed = await client.get("/api/containers/admin/templates", headers=admin.headers)
    assert [(t["displayName"], t["templateSchema"]) for t in listed.json()] == [
        ("Echo Server", created["templateSchema"])
    ]


async def test_an_invalid_schema_names_the_field(client: httpx.AsyncClient, admin: Account) -> None:
    schema = copy.deepcopy(ECHO["templateSchema"])
    schema["services"][0]["resources"] = {"cpuCores": 0}
    response = await client.post(
        "/api/containers/admin/templates",
        headers=admin.headers,
        json={**ECHO, "templateSchema": schema},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "TEMPLATE_SCHEMA_INVALID"
    assert [f["field"] for f in error["details"]["fields"]] == [
        "templateSchema.services.0.app.resources.cpuCores"
    ]


async def test_search_category_and_order(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    async with db() as session:
        await sync_catalog(session)
        await session.commit()
    await create(client, admin, displayOrder=15)
    everything = await names(client, alice, "/api/containers/templates")
    assert everything[:5] == ["wordpress", "echo", "ghost", "gitea", "nextcloud"]
    assert len(everything) == 12
    assert await names(client, alice, "/api/containers/templates?category=analytics") == [
        "plausible",
        "metabase",
    ]
    assert await names(client, alice, "/api/containers/templates?search=REDIS") == [
        "nextcloud",
        "redis-commander",
    ]
    assert await names(client, alice, "/api/containers/templates?search=every%20request") == [
        "echo"
    ]
    assert await names(client, alice, "/api/containers/templates?search=100%25") == []


async def test_disabled_templates_are_hidden_from_users(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    created = await create(client, admin)
    url = f"/api/containers/admin/templates/{created['id']}"
    off = await client.post(f"{url}/disable", headers=admin.headers)
    assert off.json()["enabled"] is False
    assert await names(client, alice, "/api/containers/templates") == []
    hidden = await client.get(f"/api/containers/templates/{created['id']}", headers=alice.headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"
    assert await names(client, admin, "/api/containers/admin/templates") == ["echo"]
    on = await client.post(f"{url}/enable", headers=admin.headers)
    assert on.json()["enabled"] is True
    assert await names(client, alice, "/api/containers/templates") == ["echo"]
    async with db() as session:
        events = (
            await session.scalars(
                select(ActivityLog.event_type)
                .where(ActivityLog.entity_id == created["id"])
                .order_by(ActivityLog.created_at)
            )
        ).all()
    assert events == [
        "container.template.create",
        "container.template.disable",
        "container.template.enable",
    ]


async def test_admin_updates_order_category_and_schema(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account
) -> None:
    async with db() as session:
        await sync_catalog(session)
        await session.commit()
        adminer = await session.scalar(
            select(ContainerTemplate).where(ContainerTemplate.template_name == "adminer")
        )
    assert adminer is not None
    url = f"/api/containers/admin/templates/{adminer.id}"
    moved = await client.put(
        url, headers=admin.headers, json={"displayOrder": 1, "category": "Tools"}
    )
    assert (moved.json()["displayOrder"], moved.json()["category"]) == (1, "Tools")
    assert moved.json()["builtin"] is True
    schema = moved.json()["templateSchema"]
    schema["services"][0]["image"] = "adminer:5.0.0"
    taken = await client.put(url, headers=admin.headers, json={"templateSchema": schema})
    assert taken.json()["builtin"] is False
    assert taken.json()["templateSchema"]["services"][0]["image"] == "adminer:5.0.0"
    async with db() as session:
        report = await sync_catalog(session)
    assert report.skipped == ("adminer",)
    refused = await client.put(url, headers=admin.headers, json={"displayName": None})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == {"field": "displayName"}


async def test_admin_routes_need_an_admin(client: httpx.AsyncClient, alice: Account) -> None:
    for method, url in [
        ("GET", "/api/containers/admin/templates"),
        ("POST", "/api/containers/admin/templates"),
        ("PUT", f"/api/containers/admin/templates/{UNKNOWN}"),
        ("POST", f"/api/containers/admin/templates/{UNKNOWN}/enable"),
        ("POST", f"/api/containers/admin/templates/{UNKNOWN}/disable"),
    ]:
        response = await client.request(method, url, headers=alice.headers, json=ECHO)
        assert response.status_code == 403, url
    anonymous = await client.get("/api/containers/templates")
    assert anonymous.status_code == 401


async def test_unknown_templates_are_404(
    client: httpx.AsyncClient, admin: Account, alice: Account
) -> None:
    for method, url, account in [
        ("GET", f"/api/containers/templates/{UNKNOWN}", alice),
        ("PUT", f"/api/containers/admin/templates/{UNKNOWN}", admin),
        ("POST", f"/api/containers/admin/templates/{UNKNOWN}/enable", admin),
        ("POST", f"/api/containers/admin/templates/{UNKNOWN}/disable", admin),
    ]:
        response = await client.request(
            method, url, headers=account.headers, json={"displayOrder": 3}
        )
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "TEMPLATE_NOT_FOUND"
