from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field

from skypanel.kit.schema import ApiModel, InputModel

Dialect = Literal["auto", "orpc", "trpc"]
API_KEY_RULE = "must be printable ASCII without spaces, as Easypanel's API tokens are"


def api_key_problem(key: str) -> str | None:
    """An API key travels in an HTTP header: anything else breaks every call to Easypanel."""
    if all("!" <= char <= "~" for char in key):
        return None
    return API_KEY_RULE


def _api_key(key: str) -> str:
    if api_key_problem(key) is not None:
        raise ValueError(API_KEY_RULE)
    return key


ApiKey = Annotated[str, Field(min_length=8, max_length=500), AfterValidator(_api_key)]


class ServerOut(ApiModel):
    """The connection as admins see it: the API key itself is never returned."""

    configured: bool
    id: uuid.UUID | None = None
    api_url: str | None = None
    api_key_set: bool = False
    api_key_last4: str | None = None
    dialect: Dialect | None = None
    active: bool | None = None
    last_connection_test: datetime | None = None
    connection_status: str | None = None
    last_error: str | None = None
    detected_dialect: str | None = None
    server_version: str | None = None
    latency_ms: int | None = None


class ServerIn(InputModel):
    api_url: AnyHttpUrl
    api_key: ApiKey
    dialect: Dialect = "auto"
    force: bool = Field(default=False, description="Save even when the connection test fails")


class TestIn(InputModel):
    """Test these settings without saving; omit both to test the saved connection."""

    api_url: AnyHttpUrl | None = None
    api_key: ApiKey | None = None
    dialect: Dialect = "auto"


class TestOut(ApiModel):
    ok: bool
    reachable: bool
    authenticated: bool
    dialect: str | None
    version: str | None
    latency_ms: int | None
    user_email: str | None
    error_code: str | None
    error_message: str | None
    details: dict[str, Any]
