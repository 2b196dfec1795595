"""Pure tests of the models, env helpers, redaction and the error-envelope parser."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from skypanel.easypanel import (
    EasypanelApiError,
    EasypanelError,
    EasypanelNotFound,
    EasypanelProcedureNotFound,
    EasypanelValidationError,
    redact,
)
from skypanel.easypanel.errors import error_from_response
from skypanel.easypanel.schemas import (
    AppSpec,
    DeploySettings,
    GithubSource,
    ImageSource,
    ProjectNameInput,
    format_env,
    parse_env,
)


def test_env_round_trip_and_crlf() -> None:
    assert parse_env("A=1\r\n# note\r\n\r\nB=x=y\r\nbroken\r\n") == {"A": "1", "B": "x=y"}
    assert format_env({"A": "1", "B": "x=y"}) == "A=1\nB=x=y\n"
    assert parse_env(None) == {}


@pytest.mark.parametrize("name", ["acme", "a-b_c", "-lead", "0", "x" * 80])
def test_names_accepted(name: str) -> None:
    assert ProjectNameInput(name=name).wire() == {"name": name}


@pytest.mark.parametrize("name", ["Acme", "a b", "a.b", "", "é"])
def test_names_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        ProjectNameInput(name=name)


def test_wire_drops_nulls_except_nullable_fields() -> None:
    spec = AppSpec(service_name="web", source=ImageSource(image="nginx"), deploy=DeploySettings())

    assert spec.wire() == {
        "serviceName": "web",
        "source": {"type": "image", "image": "nginx"},
        "deploy": {"replicas": 1, "command": None, "zeroDowntime": True},
    }


def test_github_source_sends_every_required_field() -> None:
    assert GithubSource(owner="o", repo="r", ref="main").wire() == {
        "type": "github",
        "owner": "o",
        "repo": "r",
        "ref": "main",
        "path": "/",
        "autoDeploy": False,
    }


def test_redact() -> None:
    value = {
        "email": "a@b.c",
        "password": "p",
        "rootPassword": "r",
        "apiToken": "t",
        "env": "A=1\nB=2",
        "source": {"type": "image", "password": "x"},
        "basicAuth": [{"username": "u", "password": "y"}],
        "enabled": True,
        "token": None,
    }

    assert redact(value) == {
        "email": "a@b.c",
        "password": "[redacted]",
        "rootPassword": "[redacted]",
        "apiToken": "[redacted]",
        "env": "A=[redacted]\nB=[redacted]",
        "source": {"type": "image", "password": "[redacted]"},
        "basicAuth": [{"username": "u", "password": "[redacted]"}],
        "enabled": True,
        "token": None,
    }


TRPC_ZOD = '[{"code":"invalid_type","message":"Required","path":["name"]}]'


@pytest.mark.parametrize(
    ("status", "body", "expected", "message"),
    [
        (404, None, EasypanelProcedureNotFound, "HTTP 404"),
        (404, {"error": "Not found"}, EasypanelProcedureNotFound, "Not found"),
        (
            404,
            {
                "error": {
                    "json": {
                        "message": 'No "mutation"-procedure on path "a.b"',
                        "data": {"code": "NOT_FOUND"},
                    }
                }
            },
            EasypanelProcedureNotFound,
            'No "mutation"-procedure on path "a.b"',
        ),
        (
            500,
            {"error": {"json": {"message": "Project does not exist", "code": -32603}}},
            EasypanelNotFound,
            "Project does not exist",
        ),
        (
            500,
            {"error": {"json": {"message": TRPC_ZOD, "code": -32603}}},
            EasypanelValidationError,
            TRPC_ZOD,
        ),
        (
            400,
            {
                "json": {
                    "defined": False,
                    "code": "BAD_REQUEST",
                    "status": 400,
                    "message": "Wrong service type.",
                }
            },
            EasypanelValidationError,
            "Wrong service type.",
        ),
        (302, {"unexpected": True}, EasypanelApiError, "HTTP 302"),
    ],
)
def test_error_envelopes(
    status: int, body: Any, expected: type[EasypanelError], message: str
) -> None:
    error = error_from_response(procedure="a.b", dialect="trpc", http_status=status, body=body)

    assert type(error) is expected
    assert error.message == f"Easypanel a.b: {message}"
    if message == TRPC_ZOD:
        assert error.details["zod_errors"] == [
            {"code": "invalid_type", "message": "Required", "path": ["name"]}
        ]
