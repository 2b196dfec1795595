"""Bodies are bounded in size and nesting; malformed values are a 422 naming the field."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import EasypanelServer
from tests.support import Account, count, make_plan, subscribed

SERVICES = "/api/containers/projects/test-user-s-organization/services"


def fields_of(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["details"]["fields"]]


async def test_a_declared_large_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]
) -> None:
    body = b'{"email": "eve@example.com", "password": "' + b"x" * 2_000_000 + b'", "name": "E"}'
    response = await client.post(
        "/api/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "BODY_TOO_LARGE"
    assert error["details"] == {"maxBytes": 1_048_576}
    assert await count(db, "users") == 0


async def test_a_streamed_body_stops_being_read_at_the_limit(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"email": "eve@example.com", "password": "'
        for _ in range(400):  # 400 MB if it were all read
            sent += 1
            yield b"x" * 1_048_576

    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        sent = 0
        response = await client.post(
            "/api/auth/register", content=chunks(), headers={"Content-Type": content_type}
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "BODY_TOO_LARGE"
        assert sent <= 3


async def test_deeply_nested_json_is_refused(client: httpx.AsyncClient) -> None:
    body = '{"email": "eve@example.com", "name": ' + "[" * 5000 + "]" * 5000 + "}"
    response = await client.post(
        "/api/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "JSON_TOO_DEEP"
    assert error["details"]["maxDepth"] == 32


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(levels):
        value = {"x": value}
    return value


async def test_a_deep_template_schema_names_the_field(
    client: httpx.AsyncClient, admin: Account
) -> None:
    template = {
        "templateName": "deep",
        "displayName": "Deep",
        "templateSchema": {"services": [nested(25)]},
    }
    response = await client.post(
        "/api/containers/admin/templates", headers=admin.headers, json=template
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["templateSchema"]
    template["templateSchema"] = nested(500)
    response = await client.post(
        "/api/containers/admin/templates", headers=admin.headers, content=json.dumps(template)
    )
    assert response.status_code == 422, response.text


async def test_a_long_registration_name_is_a_422(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "eve@example.com", "password": "long-password-1", "name": "E" * 190},
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["name"]
    assert await count(db, "users") == 0


async def test_null_in_a_plan_update_is_a_422(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account
) -> None:
    plan_id = await make_plan(db)
    for field in ("priceMonthly", "maxCpuCores", "maxContainers", "name"):
        response = await client.put(
            f"/api/containers/admin/plans/{plan_id}", headers=admin.headers, json={field: None}
        )
        assert response.status_code == 422, (field, response.text)
        assert fields_of(response) == [field]
    kept = await client.put(
        f"/api/containers/admin/plans/{plan_id}", headers=admin.headers, json={"description": None}
    )
    assert kept.status_code == 200, kept.text


async def test_a_malformed_log_cursor_is_a_422(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    assert created.status_code == 202, created.text
    for cursor in ("abc", "-1", "1.5", "\u0661\u0662"):
        response = await client.get(
            f"{SERVICES}/web/logs", headers=alice.headers, params={"cursor": cursor}
        )
        assert response.status_code == 422, (cursor, response.text)
        assert fields_of(response) == ["query.cursor"]
