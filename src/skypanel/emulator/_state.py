"""The emulator's memory: users, projects, services, actions and each service's runtime.

Service, project, user and action objects are kept in the shape the API returns (camelCase dicts),
so handlers answer with copies of them. The runtime of a service (Swarm task counts, pending
convergence, log lines) is kept beside it. Everything round-trips through JSON for `state_file`.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_CUID_ALPHABET = string.ascii_lowercase + string.digits
MAX_LOG_LINES = 2000


def new_id() -> str:
    """A cuid-looking id, as Easypanel uses for users, domains and actions."""
    return "c" + "".join(secrets.choice(_CUID_ALPHABET) for _ in range(24))


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EmulatorClock:
    """Wall time plus an offset; `manual` freezes it so only `advance()` moves it (tests)."""

    def __init__(self, *, manual: bool = False, start: float | None = None) -> None:
        self.manual = manual
        self._frozen = start if start is not None else time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return (self._frozen if self.manual else time.time()) + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.now()


@dataclass
class Runtime:
    """What Docker Swarm would report about a service."""

    desired: int = 0
    actual: int = 0
    converge_at: float | None = None
    running_since: float | None = None
    last_log_at: float | None = None
    error: str | None = None
    logs: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class State:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    runtime: dict[str, Runtime] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    certificates: dict[str, float] = field(default_factory=dict)
    """Let's Encrypt certificates by host: the time each is (or will be) issued."""
    service_domain: str | None = None
    storage_providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    database_backups: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_backups: dict[str, dict[str, Any]] = field(default_factory=dict)

    @staticmethod
    def key(project: str, service: str) -> str:
        return f"{project}/{service}"

    def project_services(self, project: str) -> list[dict[str, Any]]:
        return [s for s in self.services.values() if s["projectName"] == project]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["runtime"] = {key: asdict(rt) for key, rt in self.runtime.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        runtime = {
            key: Runtime(**{**rt, "logs": [tuple(line) for line in rt.get("logs", [])]})
            for key, rt in data.get("runtime", {}).items()
        }
        return cls(
            users=data.get("users", {}),
            projects=data.get("projects", {}),
            access=data.get("access", {}),
            services=data.get("services", {}),
            runtime=runtime,
            actions=data.get("actions", []),
            certificates=data.get("certificates", {}),
            service_domain=data.get("service_domain"),
            storage_providers=data.get("storage_providers", {}),
            database_backups=data.get("database_backups", {}),
            volume_backups=data.get("volume_backups", {}),
        )


def load_state(path: Path | None) -> State | None:
    if path is None or not path.exists():
        return None
    return State.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_state(path: Path, state: State) -> None:
    """Write atomically: a crash leaves the previous file intact."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=1), encoding="utf-8")
    os.replace(temporary, path)
