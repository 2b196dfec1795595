"""`/metrics` behind a bearer token, the API docs switchable, served from the panel's own assets
and declaring the bearer scheme."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings

Panel = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def panel(settings: Settings, engine: AsyncEngine, db: async_sessionmaker[AsyncSession]) -> Panel:
    @asynccontextmanager
    async def open_panel(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=changes))
        attach_database(app, engine, db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://skypanel.test") as http:
            yield http
        await app.state.clients.aclose()

    return open_panel


async def test_metrics_open_outside_production_without_a_token(panel: Panel) -> None:
    async with panel(env="test") as http:
        assert (await http.get("/metrics")).status_code == 200


async def test_metrics_hidden_in_production_without_a_token(panel: Panel) -> None:
    async with panel(env="production") as http:
        assert (await http.get("/metrics")).status_code == 404


@pytest.mark.parametrize("env", ["production", "test"])
async def test_metrics_need_the_bearer_token_when_one_is_set(panel: Panel, env: str) -> None:
    async with panel(env=env, metrics_token=SecretStr("s3cret-metrics-token")) as http:
        missing = await http.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert right.status_code == 200
        assert "# HELP" in right.text


async def test_api_docs_can_be_turned_off(panel: Panel) -> None:
    async with panel(api_docs=False) as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await http.get(path)).status_code == 404, path


async def test_docs_load_only_the_panels_own_assets(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", docs.text)
    urls += re.findall(r"""url:\s*'([^']+)'""", docs.text)
    assert urls
    assert [u for u in urls if not u.startswith(("/static/", "/openapi.json"))] == []
    assert "http://" not in docs.text
    assert "https://" not in docs.text
    for url in urls:
        assert (await client.get(url)).status_code == 200, url
    nonce = re.search(r"'nonce-([^']+)'", docs.headers["content-security-policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in docs.text


async def test_openapi_declares_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert schema["paths"]["/api/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    admin = schema["paths"]["/api/admin/settings"]["get"]
    assert admin["security"] == [{"bearerAuth": []}]
    assert "security" not in schema["paths"]["/api/auth/login"]["post"]
    assert "security" not in schema["paths"]["/healthz"]["get"]
