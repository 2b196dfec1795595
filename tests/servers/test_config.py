from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.app import create_app
from skypanel.config import Settings
from skypanel.emulator import RunningEmulator, running_emulator
from tests.support import Account, count

CONFIG = "/api/containers/admin/config"


async def test_nothing_configured_at_first(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.get(CONFIG, headers=admin.headers)
    assert response.json()["configured"] is False
    test = await client.post(f"{CONFIG}/test", headers=admin.headers)
    assert test.status_code == 404
    assert test.json()["error"]["code"] == "EASYPANEL_NOT_CONFIGURED"


async def test_save_tests_the_connection_and_never_returns_the_key(
    client: httpx.AsyncClient, easypanel: RunningEmulator, admin: Account
) -> None:
    easypanel.controller.reset()
    saved = await client.post(
        CONFIG,
        headers=admin.headers,
        json={"apiUrl": easypanel.base_url + "/", "apiKey": easypanel.token},
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["apiUrl"] == easypanel.base_url
    assert body["apiKeySet"] is True
    assert body["apiKeyLast4"] == easypanel.token[-4:]
    assert body["connectionStatus"] == "connected"
    assert body["detectedDialect"] == "orpc"
    assert body["serverVersion"] == "2.32.2"
    assert easypanel.token not in saved.text

    shown = await client.get(CONFIG, headers=admin.headers)
    assert easypanel.token not in shown.text
    assert shown.json()["configured"] is True

    tested = await client.post(f"{CONFIG}/test", headers=admin.headers)
    assert tested.json()["ok"] is True
    assert tested.json()["latencyMs"] >= 0
    assert tested.json()["userEmail"] == "admin@example.com"


async def test_a_wrong_key_is_refused_and_saves_nothing_unless_forced(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    admin: Account,
) -> None:
    wrong = await client.post(
        CONFIG,
        headers=admin.headers,
        json={"apiUrl": easypanel.base_url, "apiKey": "not-the-token"},
    )
    assert wrong.status_code == 422
    error = wrong.json()["error"]
    assert error["code"] == "EASYPANEL_CONNECTION_FAILED"
    assert error["details"]["test"]["reachable"] is True
    assert error["details"]["test"]["authenticated"] is False
    assert error["details"]["test"]["errorCode"] == "EASYPANEL_AUTH_FAILED"
    assert await count(db, "easypanel_config") == 0

    forced = await client.post(
        CONFIG,
        headers=admin.headers,
        json={"apiUrl": easypanel.base_url, "apiKey": "not-the-token", "force": True},
    )
    assert forced.status_code == 200
    assert forced.json()["connectionStatus"] == "unauthorized"
    assert await count(db, "easypanel_config") == 1


async def test_an_unreachable_server_fails_quickly_and_clearly(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account
) -> None:
    refused = await client.post(
        CONFIG,
        headers=admin.headers,
        json={"apiUrl": "http://127.0.0.1:1", "apiKey": "whatever-key"},
    )
    assert refused.status_code == 422
    test = refused.json()["error"]["details"]["test"]
    assert (test["reachable"], test["errorCode"]) == (False, "EASYPANEL_UNAVAILABLE")
    assert await count(db, "easypanel_config") == 0


async def test_a_server_that_never_answers_times_out(
    client: httpx.AsyncClient, easypanel: RunningEmulator, admin: Account
) -> None:
    easypanel.controller.reset()
    easypanel.controller.hang("*", times=5, seconds=30)
    try:
        probe = await client.post(
            f"{CONFIG}/test",
            headers=admin.headers,
            json={"apiUrl": easypanel.base_url, "apiKey": easypanel.token},
        )
    finally:
        easypanel.controller.reset()
    assert probe.status_code == 200
    body = probe.json()
    assert body["ok"] is False
    assert body["errorCode"] == "EASYPANEL_UNAVAILABLE"
    assert 4000 <= body["latencyMs"] <= 15000


async def test_the_trpc_dialect_is_detected(client: httpx.AsyncClient, admin: Account) -> None:
    with running_emulator(dialect="trpc", token="trpc-token-123") as trpc:
        probe = await client.post(
            f"{CONFIG}/test",
            headers=admin.headers,
            json={"apiUrl": trpc.base_url, "apiKey": "trpc-token-123"},
        )
    assert probe.json()["ok"] is True
    assert (probe.json()["dialect"], probe.json()["version"]) == ("trpc", "2.23.0")


@pytest.mark.parametrize(
    "body", [{"apiUrl": "ftp://x", "apiKey": "12345678"}, {"apiUrl": "http://x"}]
)
async def test_config_input_is_validated(
    client: httpx.AsyncClient, admin: Account, body: dict[str, str]
) -> None:
    assert (await client.post(CONFIG, headers=admin.headers, json=body)).status_code == 422


async def test_config_routes_are_for_admins(client: httpx.AsyncClient, alice: Account) -> None:
    for method, url in (("GET", CONFIG), ("POST", CONFIG), ("POST", f"{CONFIG}/test")):
        assert (await client.request(method, url, headers=alice.headers)).status_code == 403


async def test_the_environment_bootstraps_the_connection_once(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    configured = settings.model_copy(
        update={
            "easypanel_url": "http://easypanel.internal:3000/",
            "easypanel_api_key": SecretStr("bootstrap-token-1"),
        }
    )
    for _ in range(2):
        app = create_app(configured)
        async with app.router.lifespan_context(app):
            pass
    async with committed() as session:
        rows = (
            await session.execute(text("SELECT api_url, api_key_last4 FROM easypanel_config"))
        ).all()
    assert [tuple(r) for r in rows] == [("http://easypanel.internal:3000", "en-1")]


async def test_easypanel_calls_feed_the_metrics(
    client: httpx.AsyncClient, easypanel: RunningEmulator, admin: Account
) -> None:
    await client.post(
        f"{CONFIG}/test",
        headers=admin.headers,
        json={"apiUrl": easypanel.base_url, "apiKey": "not-the-token"},
    )
    exposition = (await client.get("/metrics")).text
    assert (
        'skypanel_easypanel_call_seconds_count{dialect="orpc",outcome="error",procedure="auth.getUser"}'
        in exposition
    )
    assert 'skypanel_easypanel_call_errors_total{code="EASYPANEL_AUTH_FAILED"' in exposition
