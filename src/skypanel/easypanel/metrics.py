"""Prometheus metrics of Easypanel calls: latency of every call and a counter of failures."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CALL_LATENCY = Histogram(
    "skypanel_easypanel_call_seconds",
    "Latency of Easypanel API calls, retries included",
    ["procedure", "dialect", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0),
)
CALL_ERRORS = Counter(
    "skypanel_easypanel_call_errors_total",
    "Failed Easypanel API calls by error code",
    ["procedure", "dialect", "code"],
)


def observe_call(procedure: str, dialect: str, seconds: float, error_code: str | None) -> None:
    outcome = "ok" if error_code is None else "error"
    CALL_LATENCY.labels(procedure, dialect, outcome).observe(seconds)
    if error_code is not None:
        CALL_ERRORS.labels(procedure, dialect, error_code).inc()
