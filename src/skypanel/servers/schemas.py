from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field

from skypanel.kit.schema import ApiModel, InputModel
from skypanel.plans.schemas import Region

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


ServerState = Literal["active", "draining", "down", "retired"]
CapacityCpus = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=8, decimal_places=2)]
CapacityGb = Annotated[Decimal, Field(gt=0, le=10_000_000, max_digits=12, decimal_places=2)]
Overcommit = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]


class Resources(ApiModel):
    cpus: float | None
    memory_gb: float | None
    storage_gb: float | None


class CallStats(ApiModel):
    """The calls made to a server in the last hour (from the audit log)."""

    calls: int = 0
    errors: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None


class Degraded(ApiModel):
    """Shown with a customer's reads while their Easypanel server does not answer."""

    server: str
    since: datetime | None
    """When the server last answered: what is shown was recorded before then."""
    message: str


class FleetServerOut(ApiModel):
    """One server of the fleet as admins see it (the API key is never returned)."""

    id: uuid.UUID
    name: str
    api_url: str
    api_key_last4: str
    dialect: Dialect
    region: str
    state: ServerState
    is_default: bool
    capacity: Resources
    capacity_source: Literal["manual", "reported"]
    overcommit_ratio: float
    reserved: Resources
    used: Resources
    used_cpu_percent: float | None
    subscriptions: int
    connection_status: str | None
    last_error: str | None
    latency_ms: int | None
    consecutive_failures: int
    last_seen_at: datetime | None
    last_connection_test: datetime | None
    server_version: str | None
    calls_last_hour: CallStats
    """Latency (p50, p95) and errors of the calls made to the server in the last hour."""


class FleetServerIn(InputModel):
    """A new server. Leave the three capacity fields out to read them from the server."""

    name: str = Field(min_length=1, max_length=100)
    api_url: AnyHttpUrl
    api_key: ApiKey
    dialect: Dialect = "auto"
    region: Region = "default"
    capacity_cpus: CapacityCpus | None = None
    capacity_memory_gb: CapacityGb | None = None
    capacity_storage_gb: CapacityGb | None = None
    overcommit_ratio: Overcommit = Decimal(1)
    force: bool = Field(default=False, description="Save even when the connection test fails")


class FleetServerUpdate(InputModel):
    """Only the fields sent change. Send all three capacity fields to set them by hand, or
    `capacitySource: "reported"` to read them from the server again. `state` takes `active`
    (also to end a drain) or `draining`."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    api_url: AnyHttpUrl | None = None
    api_key: ApiKey | None = None
    dialect: Dialect | None = None
    region: Region | None = None
    capacity_cpus: CapacityCpus | None = None
    capacity_memory_gb: CapacityGb | None = None
    capacity_storage_gb: CapacityGb | None = None
    capacity_source: Literal["manual", "reported"] | None = None
    overcommit_ratio: Overcommit | None = None
    state: Literal["active", "draining"] | None = None
    force: bool = Field(default=False, description="Save a new connection even if its test fails")
