"""Control characters in any input are a 422, never a 500; statements are logged without
their parameters."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

SERVICES = "/api/containers/projects/test-user-s-organization/services"


def fields_of(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["details"]["fields"]]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
async def test_register_refuses_control_characters(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], char: str
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "eve@example.com", "password": f"long-pass{char}word", "name": "Eve"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields_of(response) == ["password"]
    assert await count(db, "users") == 0


async def test_login_refuses_nul(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "x\x00y"}
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["password"]


async def test_nested_text_is_checked_too(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    response = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={
            "serviceName": "web",
            "source": {"type": "image", "image": "nginx"},
            "env": {"A\x00": "1"},
        },
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["env"]
    assert await count(db, "container_services") == 0


async def test_multi_line_text_keeps_its_line_breaks(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    response = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={
            "serviceName": "web",
            "source": {"type": "dockerfile", "dockerfile": "FROM nginx\r\n\tRUN true\n"},
        },
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "url",
    [
        f"{SERVICES}/we%00b",
        f"{SERVICES}/web/logs?cursor=%00",
        f"{SERVICES}/web/logs?x=a%0Db",
        "/api/containers/projects/a%1Bb",
    ],
)
async def test_paths_and_queries_refuse_control_characters(
    client: httpx.AsyncClient, alice: Account, url: str
) -> None:
    response = await client.get(url, headers=alice.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"][0]["field"] in ("path", "query")


async def test_headers_refuse_control_characters(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.get(
        "/api/containers/projects",
        headers=[
            ("Authorization", f"Bearer {alice.access_token}"),
            ("X-Organization-Id", f"{alice.organization_id}\x00"),
        ],
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == ("header x-organization-id")


async def test_failed_statements_never_show_their_parameters(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0"
    caplog.set_level(logging.DEBUG)
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as failed:
            await connection.execute(
                text("SELECT CAST(:name AS text), CAST(:hash AS text)"),
                {"name": "Eve\x00", "hash": secret},
            )
    assert "SELECT CAST" in str(failed.value)
    assert secret not in str(failed.value)
    assert secret not in caplog.text
