"""The error taxonomy over real HTTP: every class, in both envelopes, with retries and timeouts."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from pydantic import ValidationError

from skypanel.easypanel import (
    EasypanelApiError,
    EasypanelAuthError,
    EasypanelClient,
    EasypanelError,
    EasypanelNotFound,
    EasypanelProcedureNotFound,
    EasypanelRateLimited,
    EasypanelResourceExists,
    EasypanelUnavailable,
    EasypanelValidationError,
    RetryPolicy,
    Timeouts,
)
from skypanel.easypanel.schemas import AppSpec
from skypanel.emulator import RunningEmulator
from tests.easypanel._support import FAST_RETRIES

ZOD = {"name": "Invalid"}


@pytest.mark.parametrize(
    ("status", "envelope", "code", "message", "expected", "attempts"),
    [
        (401, "dialect", None, "UNAUTHORIZED", EasypanelAuthError, 1),
        (403, "dialect", None, "Forbidden", EasypanelAuthError, 1),
        (409, "dialect", None, "Conflict", EasypanelResourceExists, 1),
        (404, "dialect", None, "Project not found", EasypanelNotFound, 1),
        (400, "dialect", None, "Input validation failed", EasypanelValidationError, 1),
        (429, "dialect", None, "Slow down", EasypanelRateLimited, 3),
        (500, "dialect", None, "Internal server error", EasypanelUnavailable, 1),
        (502, "text", None, "<html>Bad gateway</html>", EasypanelUnavailable, 1),
        (412, "dialect", None, "Precondition failed", EasypanelApiError, 1),
        (404, "bare", None, "Not found", EasypanelProcedureNotFound, 1),
        (500, "orpc", "CONFLICT", "Project already exists", EasypanelResourceExists, 1),
        (500, "trpc", "INTERNAL_SERVER_ERROR", "Service not found", EasypanelNotFound, 1),
    ],
)
async def test_each_answer_maps_to_its_class(
    client: EasypanelClient,
    emulator: RunningEmulator,
    status: int,
    envelope: Any,
    code: str | None,
    message: str,
    expected: type[EasypanelError],
    attempts: int,
) -> None:
    """A mutation: only a 429 (refused before acting) is retried."""
    zod = ZOD if status == 400 else None
    emulator.controller.fail(
        "projects.createProject",
        times=5,
        status=status,
        envelope=envelope,
        code=code,
        message=message,
        zod_errors=zod,
    )

    with pytest.raises(EasypanelError) as failure:
        await client.create_project("acme")

    error = failure.value
    assert type(error) is expected
    assert error.procedure == "projects.createProject"
    assert error.details["http_status"] == status
    assert error.retryable is (expected in (EasypanelRateLimited, EasypanelUnavailable))
    assert len(emulator.controller.requests("projects.createProject")) == attempts
    if zod is not None:
        assert error.details["zod_errors"] == ZOD
    assert emulator.controller.snapshot()["projects"] == {}


async def test_wrong_token_is_an_auth_failure(emulator: RunningEmulator) -> None:
    async with EasypanelClient(emulator.base_url, "wrong-token", retries=FAST_RETRIES) as client:
        with pytest.raises(EasypanelAuthError) as failure:
            await client.list_projects()

    assert failure.value.code == "EASYPANEL_AUTH_FAILED"
    assert failure.value.status == 401
    assert failure.value.retryable is False
    assert len(emulator.controller.requests("projects.listProjects")) == 1


@pytest.mark.conformance_exempt
async def test_server_side_validation_carries_zod_errors(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    with pytest.raises(EasypanelValidationError) as bad_name:
        await client.call("projects.createProject", {"name": "Not Valid"})
    with pytest.raises(EasypanelValidationError) as missing:
        await client.call("projects.inspectProject", {"project_name": "acme"})
    with pytest.raises(EasypanelValidationError) as number:
        await client.call("users.updateUser", {"id": "x", "admin": "yes"})

    assert bad_name.value.details["zod_errors"] == {"name": "Invalid"}
    assert missing.value.details["zod_errors"] == {"projectName": "Required"}
    assert number.value.details["zod_errors"] == {"admin": "Expected boolean"}
    assert len(emulator.controller.requests("projects.inspectProject")) == 1


async def test_invalid_names_are_refused_before_sending(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    with pytest.raises(ValidationError):
        await client.create_project("Acme Corp")

    assert emulator.controller.requests("projects.createProject") == []


async def test_queries_are_retried_on_5xx(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    emulator.controller.fail("projects.listProjects", times=2, status=503)

    assert await client.list_projects() == []
    assert len(emulator.controller.requests("projects.listProjects")) == 3


async def test_queries_give_up_after_the_last_attempt(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    emulator.controller.fail("projects.listProjects", times=3, status=500)

    with pytest.raises(EasypanelUnavailable):
        await client.list_projects()

    assert len(emulator.controller.requests("projects.listProjects")) == 3


async def test_a_mutation_that_acted_is_not_repeated(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    """The server created the project, then the answer failed: one request, the error surfaces."""
    emulator.controller.fail("projects.createProject", status=502, after_effect=True)

    with pytest.raises(EasypanelUnavailable):
        await client.create_project("acme")

    assert len(emulator.controller.requests("projects.createProject")) == 1
    assert list(emulator.controller.snapshot()["projects"]) == ["acme"]


async def test_rate_limit_honours_retry_after(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    emulator.controller.fail("projects.createProject", times=1, status=429, retry_after=0.002)

    project = await client.create_project("acme")

    assert project.name == "acme"
    assert len(emulator.controller.requests("projects.createProject")) == 2


async def test_connection_refused_is_retried_then_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    async with EasypanelClient(url, "token", dialect="orpc", retries=FAST_RETRIES) as client:
        with pytest.raises(EasypanelUnavailable) as failure:
            await client.create_project("acme")

    assert failure.value.details["reason"] == "connection"
    assert failure.value.details["sent"] is False
    assert time.perf_counter() - started < 1.0


async def test_a_hanging_mutation_times_out_quickly(emulator: RunningEmulator) -> None:
    emulator.controller.hang("projects.createProject", seconds=5)
    timeouts = Timeouts(connect=1, read=0.2, write=1, pool=1, deploy_read=1)
    started = time.perf_counter()
    async with EasypanelClient(
        emulator.base_url, emulator.token, timeouts=timeouts, retries=FAST_RETRIES
    ) as client:
        with pytest.raises(EasypanelUnavailable) as failure:
            await client.create_project("acme")

    assert failure.value.details["reason"] == "timeout"
    assert failure.value.details["sent"] is True
    assert time.perf_counter() - started < 1.0
    assert len(emulator.controller.requests("projects.createProject")) == 1


async def test_a_hanging_query_is_retried(emulator: RunningEmulator) -> None:
    emulator.controller.hang("projects.listProjects", times=1, seconds=5)
    timeouts = Timeouts(connect=1, read=0.2, write=1, pool=1, deploy_read=1)
    async with EasypanelClient(
        emulator.base_url, emulator.token, timeouts=timeouts, retries=FAST_RETRIES
    ) as client:
        assert await client.list_projects() == []

    assert len(emulator.controller.requests("projects.listProjects")) == 2


async def test_deploys_get_the_long_read_timeout(emulator: RunningEmulator) -> None:
    timeouts = Timeouts(connect=1, read=0.1, write=1, pool=1, deploy_read=2)
    async with EasypanelClient(
        emulator.base_url, emulator.token, timeouts=timeouts, retries=RetryPolicy(attempts=1)
    ) as client:
        await client.create_project("acme")
        await client.create_app("acme", AppSpec(service_name="web"))
        emulator.controller.set_latency(0.3)
        await client.deploy_app("acme", "web")
        with pytest.raises(EasypanelUnavailable) as failure:
            await client.stop_app("acme", "web")

    assert failure.value.details["reason"] == "timeout"
    assert len(emulator.controller.requests("services.app.deployService")) == 1


async def test_a_non_json_success_is_an_api_error(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    emulator.controller.fail("projects.listProjects", status=200, envelope="text", message="<html>")

    with pytest.raises(EasypanelApiError) as failure:
        await client.list_projects()

    assert "not a JSON object" in failure.value.message
    assert len(emulator.controller.requests("projects.listProjects")) == 1
