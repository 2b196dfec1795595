"""The error taxonomy of Easypanel calls, and the parser of both dialects' error envelopes.

tRPC: ``{"error": {"json": {"message", "code": -32603, "data": {"code", "httpStatus", ...}}}}``
oRPC: ``{"json": {"defined": false, "code", "status", "message", "data": {"zodErrors"}}}``
An unknown oRPC route answers 404 with a bare ``{"error": "Not found"}``; an unknown tRPC
procedure answers 404 ``NOT_FOUND`` with the message ``No "query"-procedure on path "..."``.
Easypanel throws most domain errors as plain errors (tRPC 500, oRPC 400), so the message decides
between "already exists", "not found" and the rest (contract §1.3).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from skypanel.kit.errors import AppError


class EasypanelError(AppError):
    """Any failure of a call to Easypanel. `retryable` tells whether trying later may succeed."""

    code = "EASYPANEL_API_ERROR"
    status = 502
    default_retryable: ClassVar[bool] = False
    retryable: bool
    procedure: str | None

    def __init__(
        self,
        message: str | None = None,
        *,
        procedure: str | None = None,
        retryable: bool | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, procedure=procedure, **details)
        self.procedure = procedure
        self.retryable = self.default_retryable if retryable is None else retryable


class EasypanelAuthError(EasypanelError):
    code = "EASYPANEL_AUTH_FAILED"
    status = 401


class EasypanelResourceExists(EasypanelError):
    code = "EASYPANEL_RESOURCE_EXISTS"
    status = 409


class EasypanelNotFound(EasypanelError):
    code = "EASYPANEL_RESOURCE_NOT_FOUND"
    status = 404


class EasypanelRateLimited(EasypanelError):
    code = "EASYPANEL_RATE_LIMITED"
    status = 429
    default_retryable = True


class EasypanelValidationError(EasypanelError):
    """The server refused the input; `details["zod_errors"]` holds its field errors."""

    code = "EASYPANEL_VALIDATION"
    status = 400


class EasypanelUnavailable(EasypanelError):
    """Timeouts, connection failures and 5xx answers."""

    code = "EASYPANEL_UNAVAILABLE"
    status = 503
    default_retryable = True


class EasypanelApiError(EasypanelError):
    """Anything else the server answered that the client cannot use."""


class EasypanelProcedureNotFound(EasypanelApiError):
    """This server has no such procedure (another Easypanel version, or a verb the type lacks)."""


@dataclass(frozen=True, slots=True)
class ErrorEnvelope:
    """What an error body says, whatever the dialect."""

    message: str | None = None
    server_code: str | None = None
    zod_errors: Any = None
    wrapped: bool = False


_EXISTS = re.compile(r"already exists|duplicate", re.IGNORECASE)
_MISSING = re.compile(r"not found|does not exist|doesn't exist|not exist", re.IGNORECASE)
_NO_PROCEDURE = re.compile(r'^No "\w+"-procedure on path')


def parse_envelope(body: Any) -> ErrorEnvelope:
    """Read an error body in the order of contract §5.3: tRPC, oRPC, bare, nothing."""
    if not isinstance(body, dict):
        return ErrorEnvelope()
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("json"), dict):
        inner: dict[str, Any] = error["json"]
        data = _mapping(inner.get("data"))
        return ErrorEnvelope(
            _text(inner.get("message")), _text(data.get("code")), data.get("zodErrors"), True
        )
    inner = _mapping(body.get("json"))
    if "code" in inner and "message" in inner:
        data = _mapping(inner.get("data"))
        return ErrorEnvelope(
            _text(inner.get("message")), _text(inner.get("code")), data.get("zodErrors"), True
        )
    return ErrorEnvelope(_text(error) or _text(body.get("message")))


def error_from_response(
    *,
    procedure: str,
    dialect: str,
    http_status: int,
    body: Any,
    retry_after: float | None = None,
) -> EasypanelError:
    """Map an unsuccessful answer to the taxonomy."""
    envelope = parse_envelope(body)
    zod = envelope.zod_errors if envelope.zod_errors is not None else _zod_issues(envelope.message)
    code = envelope.server_code or ""
    message = envelope.message or f"HTTP {http_status}"
    details: dict[str, Any] = {"dialect": dialect, "http_status": http_status}
    if code:
        details["server_code"] = code
    text = f"Easypanel {procedure}: {message}"
    kind: type[EasypanelError]
    if http_status in (401, 403) or code in ("UNAUTHORIZED", "FORBIDDEN"):
        kind = EasypanelAuthError
    elif http_status == 429 or code == "TOO_MANY_REQUESTS":
        kind = EasypanelRateLimited
        details["retry_after"] = retry_after
    elif http_status == 404 and (not envelope.wrapped or _NO_PROCEDURE.match(message)):
        kind = EasypanelProcedureNotFound
    elif http_status == 409 or code == "CONFLICT" or _EXISTS.search(message):
        kind = EasypanelResourceExists
    elif http_status == 404 or code == "NOT_FOUND" or _MISSING.search(message):
        kind = EasypanelNotFound
    elif zod is not None or http_status in (400, 422) or code in ("BAD_REQUEST", "PARSE_ERROR"):
        kind = EasypanelValidationError
        details["zod_errors"] = zod
    elif http_status >= 500:
        kind = EasypanelUnavailable
    else:
        kind = EasypanelApiError
    return kind(text, procedure=procedure, **details)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _zod_issues(message: str | None) -> Any:
    """tRPC servers may put the zod issue list, JSON-encoded, in the message."""
    if not message or not message.lstrip().startswith("["):
        return None
    try:
        issues = json.loads(message)
    except ValueError:
        return None
    if isinstance(issues, list) and all(isinstance(i, dict) and "path" in i for i in issues):
        return issues
    return None
