"""Keys and amounts are checked when saved, and refusals speak the user's language."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit.money import parse_money
from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}


def fields_of(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["details"]["fields"]]


@pytest.mark.parametrize("key", ["clé-secrète-123", "token with space", "tok\u200ben-12345"])
async def test_a_non_ascii_api_key_is_refused_when_saved(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, key: str
) -> None:
    response = await client.post(
        "/api/containers/admin/config",
        headers=admin.headers,
        json={"apiUrl": "https://easypanel.example.com", "apiKey": key, "force": True},
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["apiKey"]
    assert await count(db, "easypanel_config") == 0


PLAN = {
    "name": "Big",
    "maxCpuCores": "2",
    "maxMemoryGb": "4",
    "maxStorageGb": 20,
    "maxContainers": 5,
}


@pytest.mark.parametrize(
    "price",
    [
        "\u0661\u0669.\u0669\u0669",
        "\uff11\uff19.\uff19\uff19",
        "1000000.01",
        "99999999.00",
        "-1000000.01",
    ],
)
async def test_money_takes_ascii_digits_within_bounds(
    client: httpx.AsyncClient, admin: Account, price: str
) -> None:
    response = await client.post(
        "/api/containers/admin/plans", headers=admin.headers, json={**PLAN, "priceMonthly": price}
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["priceMonthly"]


def test_the_documented_maximum_is_accepted() -> None:
    assert parse_money("1000000.00") == 100_000_000
    assert parse_money("-1000000") == -100_000_000
    with pytest.raises(ValueError, match=r"at most 1000000\.00"):
        parse_money("1000000.01")


async def test_a_quota_refusal_names_the_resource_with_units(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    response = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={**NGINX, "resources": {"cpuCores": "3", "memoryGb": "8"}},
    )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert "vCPU: 3 vCPU requested, 0 vCPU of 2 vCPU in use" in error["message"]
    assert "memory: 8 GB requested, 0 GB of 4 GB in use" in error["message"]
    assert [item["quota"] for item in error["details"]["exceeded"]] == ["cpuCores", "memoryGb"]


async def test_a_wrong_confirmation_says_what_to_type(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    assert (await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)).is_success
    response = await client.delete(
        "/api/containers/subscription", headers=alice.headers, params={"confirm": "yes"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "CONFIRMATION_MISMATCH"
    assert f"?confirm={EP}" in error["message"]
    assert error["details"]["confirm"] == EP
    assert fields_of(response) == ["confirm"]
    assert await count(db, "container_services", organization_id=alice.organization_id) == 1


async def test_a_followed_log_stream_ends_with_an_error_event(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    assert (await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)).is_success
    easypanel.controller.advance(30)
    events: list[tuple[str, dict[str, object]]] = []
    kind = "message"

    async def fail_after_the_first_page() -> None:
        await asyncio.sleep(0.5)  # the stream polls at once, then every 2 s
        easypanel.controller.fail("logs.queryServiceLogs", times=50, status=400)

    failing = asyncio.create_task(fail_after_the_first_page())
    async with client.stream(
        "GET", f"{SERVICES}/web/logs?follow=true&followSeconds=5&limit=5", headers=alice.headers
    ) as stream:
        assert stream.status_code == 200
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
                kind = "message"
    await failing
    assert [kind for kind, _ in events] == ["message", "error"]
    error = events[-1][1]["error"]
    assert isinstance(error, dict)
    assert error["code"]
    assert error["message"]
