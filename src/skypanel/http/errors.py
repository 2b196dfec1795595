"""One error format for every response: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from skypanel.kit.errors import AppError

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    400: "The request body cannot be read (not JSON, or not UTF-8)",
    401: "Not authenticated, or the token is invalid, expired or revoked",
    402: "Payment required (insufficient balance, suspended subscription)",
    403: "Not allowed",
    404: "Not found (also for another organization's resources)",
    409: "Conflict with the current state",
    413: "The request body is larger than the limit",
    422: "Invalid input; `details.fields` names each field",
    423: "Account locked after repeated failed logins",
    429: "Too many requests; see `Retry-After`",
    503: "A service SkyPanel depends on is unavailable",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error statuses a route can answer."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status)


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = (
        {"Retry-After": str(exc.details["retryAfter"])} if "retryAfter" in exc.details else None
    )
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(part) for part in err["loc"] if part != "body"),
            "message": err["msg"].removeprefix("Value error, "),
            "type": err["type"],
        }
        for err in exc.errors()
    ]
    names = ", ".join(f["field"] or "body" for f in fields)
    return error_response(422, "VALIDATION_ERROR", f"Invalid input: {names}", fields=fields)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


_UNREACHABLE = ("08", "57P01", "57P02", "57P03")
"""SQLSTATEs of a database that is not there: connection exceptions, and a server shutting down,
crashed or still starting."""


def _database_unavailable() -> JSONResponse:
    response = error_response(
        503, "DATABASE_UNAVAILABLE", "The database did not answer; try again in a moment"
    )
    response.headers["Retry-After"] = "1"
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A connection PostgreSQL ended mid-request (a restart, a failover, an ended backend), or
    one it refuses while it restarts, is a 503: the pool has already replaced its connections
    (`skypanel.kit.db`). Any other database error is a bug."""
    assert isinstance(exc, DBAPIError)
    state = getattr(exc.orig, "sqlstate", None) or ""
    if not (exc.connection_invalidated or state.startswith(_UNREACHABLE)):
        return await _unexpected(request, exc)
    log.warning("request.database_lost", error_type=type(exc.orig).__name__, sqlstate=state)
    return _database_unavailable()


async def _database_refused(request: Request, exc: Exception) -> JSONResponse:
    """A connection to PostgreSQL refused (the driver raises the socket's own error): the
    database is down or restarting. The panel's other connections (Easypanel, mail, storage,
    webhooks, Redis) go through clients that raise errors of their own."""
    log.warning("request.database_refused", error_type=type(exc).__name__)
    return _database_unavailable()


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("request.unhandled_error", error_type=type(exc).__name__)
    return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ConnectionRefusedError, _database_refused)
    app.add_exception_handler(Exception, _unexpected)
