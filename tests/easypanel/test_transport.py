"""Dialect detection, wire shapes, observation (hook, logs, metrics) and test_connection()."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY

from skypanel.easypanel import (
    CallRecord,
    EasypanelApiError,
    EasypanelClient,
    EasypanelProcedureNotFound,
    EasypanelResourceExists,
)
from skypanel.easypanel.schemas import AppSpec, PostgresSpec
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import FAST_RETRIES


async def test_auto_detection_probes_once(emulator: RunningEmulator, dialect: str) -> None:
    async with EasypanelClient(emulator.base_url, emulator.token) as client:
        assert client.dialect is None
        await client.list_projects()
        await client.list_users()

    journal = [(r.method, r.procedure) for r in emulator.controller.requests()]
    verb = "POST" if dialect == "orpc" else "GET"
    assert client.dialect == dialect
    assert journal == [
        (verb, "auth.getUser"),
        (verb, "projects.listProjects"),
        (verb, "users.listUsers"),
    ]


async def test_a_pinned_dialect_does_not_probe(emulator: RunningEmulator, dialect: str) -> None:
    async with EasypanelClient(emulator.base_url, emulator.token, dialect=dialect) as client:  # type: ignore[arg-type]
        await client.list_projects()

    assert [r.procedure for r in emulator.controller.requests()] == ["projects.listProjects"]


async def test_trpc_sends_queries_as_get_and_mutations_as_post(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await client.create_project("acme")
    await client.inspect_project("acme")

    methods = {r.procedure: r.method for r in emulator.controller.requests()}
    query = "GET" if dialect == "trpc" else "POST"
    assert methods == {
        "auth.getUser": query,
        "projects.createProject": "POST",
        "projects.inspectProject": query,
    }


async def test_not_an_easypanel_server(emulator: RunningEmulator) -> None:
    async with EasypanelClient(f"{emulator.base_url}/elsewhere", emulator.token) as client:
        with pytest.raises(EasypanelProcedureNotFound) as failure:
            await client.list_projects()

    assert "Neither /api/rpc nor /api/trpc" in failure.value.message
    assert client.dialect is None


async def test_on_call_hook_gets_redacted_records(emulator: RunningEmulator, dialect: str) -> None:
    records: list[CallRecord] = []

    async def hook(record: CallRecord) -> None:
        records.append(record)

    async with EasypanelClient(emulator.base_url, emulator.token, on_call=hook) as client:
        await client.create_project("acme")
        await client.create_user("ops@example.com", "hunter2-password")
        await client.create_app("acme", AppSpec(service_name="web", env="API_KEY=abc\nMODE=x\n"))
        await client.create_database("acme", PostgresSpec(service_name="db", password="pg-secret"))
        with pytest.raises(EasypanelResourceExists):
            await client.create_project("acme")

    by_name = {record.procedure: record for record in records}
    assert [r.procedure for r in records] == [
        "projects.createProject",
        "users.createUser",
        "services.app.createService",
        "services.postgres.createService",
        "projects.createProject",
    ]
    assert by_name["users.createUser"].request == {
        "email": "ops@example.com",
        "password": "[redacted]",
        "admin": False,
    }
    assert by_name["services.app.createService"].request["env"] == (
        "API_KEY=[redacted]\nMODE=[redacted]"
    )
    app = by_name["services.app.createService"].response
    assert app["token"] == "[redacted]"
    assert app["deploymentUrl"] == "[redacted]"
    database = by_name["services.postgres.createService"]
    assert database.request["password"] == "[redacted]"
    assert database.response["password"] == "[redacted]"
    assert database.response["dbGate"]["token"] == "[redacted]"
    failed = records[-1]
    assert failed.error_code == "EASYPANEL_RESOURCE_EXISTS"
    assert failed.status_code == (400 if dialect == "orpc" else 500)
    assert failed.dialect == dialect
    assert failed.attempts == 1
    assert failed.elapsed_ms > 0
    assert "hunter2" not in repr(records)
    assert "pg-secret" not in repr(records)


async def test_a_failing_sync_hook_does_not_break_calls(emulator: RunningEmulator) -> None:
    def hook(record: CallRecord) -> None:
        raise RuntimeError("audit store down")

    async with EasypanelClient(emulator.base_url, emulator.token, on_call=hook) as client:
        assert (await client.create_project("acme")).name == "acme"


@pytest.fixture
def info_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Captured structlog events at INFO, whatever level the app configured before."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**saved)


async def test_one_log_line_per_call_without_secrets(
    client: EasypanelClient,
    emulator: RunningEmulator,
    dialect: str,
    info_logs: list[MutableMapping[str, Any]],
) -> None:
    await client.list_projects()
    emulator.controller.fail("projects.listProjects", times=1, status=500)
    info_logs.clear()
    await client.create_user("ops@example.com", "hunter2-password")
    await client.list_projects()

    assert [(e["event"], e["procedure"], e["status"], e["attempts"]) for e in info_logs] == [
        ("easypanel.call", "users.createUser", 200, 1),
        ("easypanel.call", "projects.listProjects", 200, 2),
    ]
    assert all(e["dialect"] == dialect and e["elapsed_ms"] >= 0 for e in info_logs)
    assert "hunter2" not in repr(info_logs)


async def test_metrics_count_calls_and_errors(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    ok = {"procedure": "projects.createProject", "dialect": dialect, "outcome": "ok"}
    error = {
        "procedure": "projects.createProject",
        "dialect": dialect,
        "code": "EASYPANEL_RESOURCE_EXISTS",
    }
    calls_before = REGISTRY.get_sample_value("skypanel_easypanel_call_seconds_count", ok) or 0
    errors_before = REGISTRY.get_sample_value("skypanel_easypanel_call_errors_total", error) or 0

    await client.create_project("acme")
    with pytest.raises(EasypanelResourceExists):
        await client.create_project("acme")

    assert (
        REGISTRY.get_sample_value("skypanel_easypanel_call_seconds_count", ok) == calls_before + 1
    )
    assert (
        REGISTRY.get_sample_value("skypanel_easypanel_call_errors_total", error)
        == errors_before + 1
    )


async def test_connection_ok(client: EasypanelClient, dialect: str) -> None:
    result = await client.test_connection()

    assert result.ok
    assert (result.reachable, result.authenticated, result.dialect) == (True, True, dialect)
    assert result.version == {"orpc": "2.32.2", "trpc": "2.23.0"}[dialect]
    assert result.user_email == "admin@example.com"
    assert result.latency_ms is not None
    assert result.latency_ms > 0
    assert result.error_code is None


async def test_connection_with_a_wrong_key(emulator: RunningEmulator, dialect: str) -> None:
    async with EasypanelClient(emulator.base_url, "not-the-key") as client:
        result = await client.test_connection()

    assert (result.reachable, result.authenticated, result.dialect) == (True, False, dialect)
    assert result.error_code == "EASYPANEL_AUTH_FAILED"
    assert result.details["http_status"] == 401


async def test_connection_to_nothing_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    async with EasypanelClient(f"http://127.0.0.1:{port}", "key", retries=FAST_RETRIES) as client:
        result = await client.test_connection()

    assert (result.reachable, result.authenticated, result.dialect) == (False, False, None)
    assert result.error_code == "EASYPANEL_UNAVAILABLE"
    assert time.perf_counter() - started < 1.0


async def test_connection_to_another_server(emulator: RunningEmulator) -> None:
    async with EasypanelClient(f"{emulator.base_url}/elsewhere", emulator.token) as client:
        result = await client.test_connection()

    assert (result.reachable, result.authenticated) == (True, False)
    assert result.error_code == "EASYPANEL_API_ERROR"


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_answer_that_is_not_easypanels_is_audited_with_its_status(
    streamed: bool,
) -> None:
    """A 200 whose body is not an Easypanel answer (a proxy's page) is an API error, and the
    audit says what was received: 200, not nothing."""
    records: list[CallRecord] = []

    def page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Welcome to nginx</html>")

    http = httpx.AsyncClient(transport=httpx.MockTransport(page))
    async with EasypanelClient(
        "http://easypanel.test", "key", dialect="orpc", http=http, on_call=records.append
    ) as client:
        call = (
            client.call_lists("projects.listProjectsAndServices", ["projects"], list)
            if streamed
            else client.list_projects()
        )
        with pytest.raises(EasypanelApiError):
            await call
    await http.aclose()
    assert [(r.status_code, r.error_code) for r in records] == [(200, "EASYPANEL_API_ERROR")]
