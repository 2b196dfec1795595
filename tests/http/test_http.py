from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings
from skypanel.http.errors import install_error_handlers
from skypanel.kit.db import create_engine
from tests.support import Account, end_backend, register


async def test_unknown_route_is_404_in_the_error_format(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": "Not Found", "details": {}}
    }


async def test_wrong_method_is_405_in_the_error_format(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/auth/login")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_json_names_the_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    assert len(fresh.headers["X-Request-Id"]) == 32
    kept = await client.get("/api/nope", headers={"X-Request-Id": "trace-abc-12345"})
    assert kept.headers["X-Request-Id"] == "trace-abc-12345"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "bad id\nInjected: 1"})
    assert hostile.headers["X-Request-Id"] != "bad id\nInjected: 1"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["revision"] == ready.json()["head"]


async def test_readiness_fails_when_the_database_is_unreachable(settings: Settings) -> None:
    broken = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_a_connection_lost_mid_request_is_a_503_to_retry(settings: Settings) -> None:
    """PostgreSQL ends the connection a request is using (a restart, a failover): that request
    is a 503 with `Retry-After`, not a 500, and the next one runs on a new connection."""
    url = settings.database_url
    assert url is not None
    engine = create_engine(url, pool_size=1, max_overflow=0)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/lost")
    async def lost() -> None:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            await end_backend(url, pid)
            await connection.execute(text("SELECT 1"))

    @app.get("/read")
    async def read() -> dict[str, int]:
        async with engine.connect() as connection:
            return {"one": int(await connection.scalar(text("SELECT 1")) or 0)}

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.get("/lost")
            assert answer.status_code == 503
            assert answer.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
            assert answer.headers["retry-after"] == "1"
            assert (await http.get("/read")).json() == {"one": 1}
    finally:
        await engine.dispose()


async def test_a_database_that_refuses_connections_is_a_503(settings: Settings) -> None:
    broken = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    app = create_app(broken)
    login = {"email": "nobody@example.com", "password": "not the password"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.post("/api/auth/login", json=login)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "DATABASE_UNAVAILABLE"


def test_openapi_declares_error_responses(settings: Settings) -> None:
    schema = create_app(settings).openapi()
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
            assert errors, f"{method.upper()} {path} declares no error response"


def _limited_client(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    address: str,
    **extra: str,
) -> httpx.AsyncClient:
    limited = settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_anonymous": "3/minute",
            "rate_limit_user": "5/minute",
            "rate_limit_admin": "50/minute",
            **extra,
        }
    )
    app = create_app(limited)
    attach_database(app, engine, sessions)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 1234)),
        base_url="http://limited",
    )


async def _exercise_tiers(http: httpx.AsyncClient, account: Account) -> None:
    anonymous = [(await http.get("/api/auth/me")).status_code for _ in range(4)]
    assert anonymous == [401, 401, 401, 429]
    limited = await http.get("/api/auth/me")
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60

    user = [(await http.get("/api/auth/me", headers=account.headers)).status_code for _ in range(6)]
    assert user == [200, 200, 200, 200, 200, 429]
    assert (await http.get("/healthz")).status_code == 200


async def test_rate_limits_per_client_and_per_user_in_memory(
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    async with _limited_client(settings, engine, db, f"memory-{uuid.uuid4().hex}") as http:
        await _exercise_tiers(http, account)


async def test_rate_limits_shared_through_redis(
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    redis_url: str,
) -> None:
    account = await register(client)
    address = f"redis-{uuid.uuid4().hex}"
    async with _limited_client(settings, engine, db, address, redis_url=redis_url) as http:
        await _exercise_tiers(http, account)
    async with _limited_client(settings, engine, db, address, redis_url=redis_url) as other:
        shared = await other.get("/api/auth/me", headers=account.headers)
        assert shared.status_code == 429


async def test_interactive_docs_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    schema = (await client.get("/openapi.json")).json()
    assert "/api/auth/login" in schema["paths"]
