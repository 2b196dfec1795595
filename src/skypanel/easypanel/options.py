"""Value objects of the client: timeouts, retry policy, the per-call record and connection test."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `deploy_read` applies to calls that block until a build ends (contract §1.4)."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0
    deploy_read: float = 600.0

    def for_call(self, long_running: bool) -> httpx.Timeout:
        read = self.deploy_read if long_running else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter; `attempts` counts the first try."""

    attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2**retry))
        jittered = random.uniform(0, ceiling)
        if retry_after is not None:
            return min(self.max_delay, max(retry_after, jittered))
        return jittered


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One logical call (retries included), given to the `on_call` hook. Bodies are redacted
    and abridged (`redaction.AUDITED_ITEMS`)."""

    procedure: str
    dialect: str
    started_at: datetime
    elapsed_ms: float
    attempts: int
    status_code: int | None
    request: Any
    response: Any
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """The outcome of `EasypanelClient.test_connection()`."""

    reachable: bool
    authenticated: bool
    dialect: str | None = None
    version: str | None = None
    latency_ms: float | None = None
    user_email: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated
