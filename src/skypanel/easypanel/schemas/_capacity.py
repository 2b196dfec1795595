"""What a server has and uses (contract §2.9): `metrics.getSystemStats` on 2.31+, the older
`monitor*.getSystemStats` snapshot, and the Swarm nodes of `cluster.listNodes`."""

from __future__ import annotations

from skypanel.easypanel.schemas._base import Input, Output


class SystemStatsInput(Input):
    range: float | None = None
    """Seconds of history (Easypanel's default: a day)."""
    step: str | None = None
    """Between points, e.g. ``"300s"``."""


class ServerCapacity(Output):
    """Whole-server totals and use, in bytes and cores; None where the server does not say."""

    cpus: float | None = None
    cpu_percent: float | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    disk_total_bytes: int | None = None
    disk_used_bytes: int | None = None


class SwarmNode(Output):
    """One Docker Swarm node, as `cluster.listNodes` reports it (Docker's own field names)."""

    id: str
    hostname: str | None = None
    role: str | None = None
    availability: str | None = None
    state: str | None = None
    cpus: float | None = None
    memory_bytes: int | None = None
