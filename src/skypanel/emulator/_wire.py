"""Envelopes of both dialects, as the emulator writes them (contract §1.1, §1.3)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from skypanel.easypanel import Dialect
from skypanel.easypanel._procedures import is_query

RPC_CODES = {
    "PARSE_ERROR": -32700,
    "BAD_REQUEST": -32600,
    "UNAUTHORIZED": -32001,
    "FORBIDDEN": -32003,
    "NOT_FOUND": -32004,
    "METHOD_NOT_SUPPORTED": -32005,
    "CONFLICT": -32009,
    "TOO_MANY_REQUESTS": -32029,
    "INTERNAL_SERVER_ERROR": -32603,
}
STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_SUPPORTED",
    408: "TIMEOUT",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    422: "UNPROCESSABLE_CONTENT",
    429: "TOO_MANY_REQUESTS",
}
_ZOD_MESSAGES = {
    "missing": "Required",
    "string_pattern_mismatch": "Invalid",
    "string_too_short": "String must contain at least 1 character(s)",
    "string_type": "Expected string",
    "bool_type": "Expected boolean",
    "int_type": "Expected number",
    "float_type": "Expected number",
    "union_tag_invalid": "Invalid discriminator value",
    "literal_error": "Invalid literal value",
    "model_type": "Expected object",
    "dict_type": "Expected object",
    "list_type": "Expected array",
}


def code_for(status: int) -> str:
    return STATUS_CODES.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_REQUEST")


def success(dialect: Dialect, payload: Any, *, void: bool) -> dict[str, Any]:
    if dialect == "orpc":
        return {} if void else {"json": payload, "meta": []}
    return {"result": {"data": {"json": None if void else payload}}}


def error(
    dialect: Dialect,
    procedure: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    zod_errors: Any = None,
) -> dict[str, Any]:
    code = code or code_for(status)
    data: dict[str, Any] = {} if zod_errors is None else {"zodErrors": zod_errors}
    if dialect == "orpc":
        inner: dict[str, Any] = {"defined": False, "code": code, "status": status}
        return {"json": {**inner, "message": message, "data": data}}
    trpc_data = {"code": code, "httpStatus": status, "path": procedure, **data}
    return {
        "error": {
            "json": {"message": message, "code": RPC_CODES.get(code, -32603), "data": trpc_data}
        }
    }


def not_found(dialect: Dialect, procedure: str) -> dict[str, Any]:
    """An unknown procedure: oRPC's bare body, tRPC's NOT_FOUND envelope."""
    if dialect == "orpc":
        return {"error": "Not found"}
    kind = "query" if is_query(procedure) else "mutation"
    return error(dialect, procedure, 404, f'No "{kind}"-procedure on path "{procedure}"')


def validation_error(dialect: Dialect, procedure: str, exc: ValidationError) -> dict[str, Any]:
    """400 with zod-like errors nested along the input's shape."""
    issues = [
        {
            "code": "invalid_type" if e["type"] == "missing" else "custom",
            "message": _ZOD_MESSAGES.get(e["type"], e["msg"]),
            "path": [p for p in e["loc"] if isinstance(p, str | int)],
        }
        for e in exc.errors()
    ]
    nested: dict[str, Any] = {}
    for issue in issues:
        path = [str(p) for p in issue["path"]] or ["_root"]
        node = nested
        for part in path[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else node
        node[path[-1]] = issue["message"]
    message = "Input validation failed" if dialect == "orpc" else json.dumps(issues)
    return error(dialect, procedure, 400, message, zod_errors=nested)
