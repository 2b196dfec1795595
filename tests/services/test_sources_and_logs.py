from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator, running_emulator
from skypanel.models import EasypanelServer
from skypanel.servers.service import save as save_server
from tests.support import Account, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {"type": "github", "owner": "acme", "repo": "site", "ref": "main", "path": "/"},
            {"type": "github", "owner": "acme", "repo": "site", "ref": "main"},
        ),
        (
            {"type": "git", "url": "https://git.example.com/acme/site.git", "ref": "v2"},
            {"type": "git", "repo": "https://git.example.com/acme/site.git", "ref": "v2"},
        ),
        ({"type": "dockerfile", "dockerfile": "FROM nginx:1.27\n"}, {"type": "dockerfile"}),
        (
            {
                "type": "image",
                "image": "registry.example.com/acme/app:1",
                "username": "bot",
                "password": "regpass1",
            },
            {"type": "image", "image": "registry.example.com/acme/app:1", "username": "bot"},
        ),
    ],
)
async def test_each_app_source_reaches_easypanel(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    source: dict[str, str],
    expected: dict[str, str],
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        f"{SERVICES}/app", headers=alice.headers, json={"serviceName": "site", "source": source}
    )
    assert created.status_code == 202, created.text
    assert "password" not in created.json()["configuration"]["source"]
    app = easypanel.controller.service(EP, "site")
    assert app is not None
    sent = app["source"]
    assert {key: sent.get(key) for key in expected} == expected
    if source["type"] == "image":
        assert sent["password"] == "regpass1"


async def test_logs_can_be_followed(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    easypanel.controller.advance(30)
    async with client.stream(
        "GET", f"{SERVICES}/web/logs?follow=true&followSeconds=1&limit=5", headers=alice.headers
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                break
    assert event["source"] == "service-logs"
    assert 1 <= len(event["lines"]) <= 5


async def test_without_a_log_query_the_deploy_log_is_shown(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    with running_emulator(dialect="trpc", token="legacy-token-1", manual_clock=True) as legacy:
        async with db() as session:
            await save_server(
                session,
                None,
                url=legacy.base_url,
                api_key=legacy.token,
                dialect="trpc",
                result=None,
            )
            await session.commit()
        await subscribed(client, db, alice)
        await client.post(
            f"{SERVICES}/app",
            headers=alice.headers,
            json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
        )
        legacy.controller.advance(30)
        logs = await client.get(f"{SERVICES}/web/logs", headers=alice.headers)
        database = await client.post(
            f"{SERVICES}/database",
            headers=alice.headers,
            json={"serviceName": "db", "type": "redis"},
        )
        assert database.status_code == 202
        none = await client.get(f"{SERVICES}/db/logs", headers=alice.headers)
    assert logs.json()["source"] == "deploy-action"
    assert logs.json()["lines"]
    assert none.json()["source"] == "none"
    assert none.json()["lines"] == []
    assert none.json()["note"]
