from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import cast

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.easypanel import ConnectionResult, EasypanelClient, Timeouts
from skypanel.kit import clock
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.db import transaction
from skypanel.kit.errors import AppError, InvalidInput, NotFound
from skypanel.models import EasypanelServer, User
from skypanel.servers import repository
from skypanel.servers.clients import api_key_place, build_client
from skypanel.servers.schemas import API_KEY_RULE, Dialect, ServerOut, TestOut, api_key_problem

log = structlog.get_logger(__name__)

# A connection test answers quickly, also for an address that never answers.
TEST_TIMEOUTS = Timeouts(connect=3.0, read=5.0, write=5.0, pool=3.0, deploy_read=5.0)


class ConnectionFailed(AppError):
    code = "EASYPANEL_CONNECTION_FAILED"
    status = 422


class NotConfigured(NotFound):
    code = "EASYPANEL_NOT_CONFIGURED"


def normalise_url(url: str) -> str:
    cleaned = url.strip().rstrip("/")
    if not cleaned.startswith(("http://", "https://")):
        raise InvalidInput("The URL must start with http:// or https://", field="apiUrl")
    if "?" in cleaned or "#" in cleaned:
        raise InvalidInput("The URL must not have a query or fragment", field="apiUrl")
    return cleaned.removesuffix("/api")


def view(server: EasypanelServer | None) -> ServerOut:
    if server is None:
        return ServerOut(configured=False)
    return ServerOut(
        configured=True,
        id=server.id,
        api_url=server.api_url,
        api_key_set=True,
        api_key_last4=server.api_key_last4,
        dialect=cast(Dialect, server.dialect),
        active=server.active,
        last_connection_test=server.last_connection_test,
        connection_status=server.connection_status,
        last_error=server.last_error,
        detected_dialect=server.detected_dialect,
        server_version=server.server_version,
        latency_ms=server.latency_ms,
    )


def result_out(result: ConnectionResult) -> TestOut:
    data = asdict(result)
    data["latency_ms"] = round(result.latency_ms) if result.latency_ms is not None else None
    return TestOut(ok=result.ok, **data)


def probe_client(url: str, api_key: str, dialect: str) -> EasypanelClient:
    """A client for a connection that is not saved yet, with the short test timeouts."""
    return EasypanelClient(url, api_key, dialect=dialect, timeouts=TEST_TIMEOUTS)  # type: ignore[arg-type]


def saved_probe_client(server: EasypanelServer) -> EasypanelClient:
    return build_client(server, timeouts=TEST_TIMEOUTS)


async def probe(url: str, api_key: str, dialect: str) -> ConnectionResult:
    """Test a connection that is not saved yet."""
    async with probe_client(url, api_key, dialect) as client:
        return await client.test_connection()


async def probe_saved(server: EasypanelServer) -> ConnectionResult:
    async with saved_probe_client(server) as client:
        return await client.test_connection()


def remember_test(server: EasypanelServer, result: ConnectionResult) -> None:
    server.last_connection_test = clock.now()
    server.connection_status = "connected" if result.ok else _status(result)
    server.last_error = None if result.ok else (result.error_message or result.error_code)
    server.detected_dialect = result.dialect
    server.server_version = result.version
    server.latency_ms = round(result.latency_ms) if result.latency_ms is not None else None


def _status(result: ConnectionResult) -> str:
    if not result.reachable:
        return "unreachable"
    return "unauthorized" if result.error_code == "EASYPANEL_AUTH_FAILED" else "error"


async def save(
    session: AsyncSession,
    admin: User | None,
    *,
    url: str,
    api_key: str,
    dialect: str,
    result: ConnectionResult | None,
) -> EasypanelServer:
    """Create or replace the default server's connection (the key encrypted for its row)."""
    if api_key_problem(api_key) is not None:
        raise InvalidInput(
            f"Invalid input: apiKey {API_KEY_RULE}",
            fields=[{"field": "apiKey", "message": API_KEY_RULE, "type": "value_error"}],
        )
    server = await repository.default_server(session, lock=True)
    if server is None:
        server = EasypanelServer(id=uuid.uuid4(), is_default=True, active=True)
        session.add(server)
    server.api_url = url
    server.api_key_encrypted = encrypt_secret(api_key, api_key_place(server.id))
    server.api_key_last4 = api_key[-4:]
    server.dialect = dialect
    if server.state == "retired":
        server.state = "active"
    server.active = True
    if result is not None:
        remember_test(server, result)
    await session.flush()
    await record(
        session,
        "easypanel.config.update",
        f"Easypanel connection set to {url}",
        user_id=admin.id if admin else None,
        entity_type="easypanel_config",
        entity_id=server.id,
        metadata={"apiUrl": url, "dialect": dialect, "tested": result is not None and result.ok},
        status="success" if result is None or result.ok else "warning",
    )
    return server


async def bootstrap_from_env(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """`SKYPANEL_EASYPANEL_URL` and `_API_KEY` configure the server when none is configured yet."""
    if not settings.easypanel_url or settings.easypanel_api_key is None:
        return
    url = normalise_url(settings.easypanel_url)
    try:
        async with transaction(sessions) as session:
            if await repository.default_server(session) is not None:
                return
            await save(
                session,
                None,
                url=url,
                api_key=settings.easypanel_api_key.get_secret_value(),
                dialect=settings.easypanel_dialect,
                result=None,
            )
    except IntegrityError:
        log.info("easypanel.bootstrap_skipped", reason="another process configured it first")
