"""The emulated server: state under a lock, a clock, and the simulated Swarm lifecycle.

Time only matters when a request arrives: `settle()` finishes the actions whose delay has passed,
converges task counts and writes the log lines a running service would have printed since.
Nothing sleeps.
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from skypanel.easypanel import Dialect, swarm_name
from skypanel.emulator._state import (
    MAX_LOG_LINES,
    EmulatorClock,
    Runtime,
    State,
    iso,
    new_id,
    save_state,
)

Era = Literal["legacy", "current"]
"""Up to 2.30 ("legacy": ``monitor.*``) or 2.31 and later ("current")."""
ADMIN_EMAIL = "admin@example.com"
_LOG_MESSAGES = (
    "GET / 200 {n}ms",
    "GET /health 200 {n}ms",
    "POST /api/items 201 {n}ms",
    "GET /static/app.js 304 {n}ms",
    "worker heartbeat ok ({n} jobs queued)",
)


class EmulatorError(Exception):
    """A domain failure, thrown as a plain error like Easypanel does: the message says what.

    Answered as oRPC 400 BAD_REQUEST or tRPC 500 INTERNAL_SERVER_ERROR (contract §1.3).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Settings:
    dialect: Dialect
    era: Era
    token: str
    deploy_delay: float
    version: str
    instance_id: str
    state_file: Path | None = None
    log_interval: float = 1.0
    admin_password: str = ""
    """What `auth.login` takes with the administrator's email (empty: nobody signs in)."""
    cpus: int = 8
    memory_mb: int = 32768
    disk_gb: int = 200
    """The one emulated Swarm node's size (`cluster.listNodes`, `*.getSystemStats`)."""


class World:
    def __init__(self, settings: Settings, clock: EmulatorClock, state: State | None) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.state = state or self.fresh_state()
        self.booted_at = clock.now()
        self.sessions: set[str] = set()
        """Tokens `auth.login` handed out; they authorize like the API token until a restart."""

    def fresh_state(self) -> State:
        admin: dict[str, Any] = {
            "id": new_id(),
            "email": ADMIN_EMAIL,
            "admin": True,
            "createdAt": self.now_iso(),
        }
        return State(users={admin["id"]: admin})

    def reset(self) -> None:
        with self.lock:
            self.state = self.fresh_state()
            self.persist()

    def persist(self) -> None:
        if self.settings.state_file is not None:
            save_state(self.settings.state_file, self.state)

    def now_iso(self) -> str:
        return iso(self.clock.now())

    @property
    def service_domain(self) -> str:
        """Where apps' generated hosts live: the custom service domain, else the instance's."""
        return self.state.service_domain or f"{self.settings.instance_id}.easypanel.host"

    @property
    def admin(self) -> dict[str, Any]:
        return next(u for u in self.state.users.values() if u["email"] == ADMIN_EMAIL)

    def project(self, name: str) -> dict[str, Any]:
        found = self.state.projects.get(name)
        if found is None:
            raise EmulatorError("Project not found")
        return found

    def service(self, project: str, service: str, kind: str | None = None) -> dict[str, Any]:
        self.project(project)
        found = self.state.services.get(State.key(project, service))
        if found is None or (kind is not None and found["type"] != kind):
            raise EmulatorError("Service not found")
        return found

    def runtime(self, project: str, service: str) -> Runtime:
        return self.state.runtime.setdefault(State.key(project, service), Runtime())

    def add_service(self, body: dict[str, Any]) -> dict[str, Any]:
        self.project(body["projectName"])
        key = State.key(body["projectName"], body["name"])
        if key in self.state.services:
            raise EmulatorError("Service already exists")
        body.setdefault("enabled", True)
        body["createdAt"] = self.now_iso()
        body["_created"] = self.clock.now()
        self.state.services[key] = body
        self.state.runtime[key] = Runtime()
        return body

    def remove_service(self, project: str, service: str) -> None:
        key = State.key(project, service)
        self.state.services.pop(key, None)
        self.state.runtime.pop(key, None)
        for backups in (self.state.database_backups, self.state.volume_backups):
            for backup_id, backup in list(backups.items()):
                if (backup["projectName"], backup["serviceName"]) == (project, service):
                    del backups[backup_id]

    def run(self, project: str, service: str, replicas: int, *, delay: float | None = None) -> None:
        """Ask Swarm for `replicas` tasks; they are up once the delay has passed."""
        runtime = self.runtime(project, service)
        runtime.desired = replicas
        runtime.converge_at = self.clock.now() + (
            self.settings.deploy_delay if delay is None else delay
        )

    def halt(self, project: str, service: str) -> None:
        runtime = self.runtime(project, service)
        runtime.desired = runtime.actual = 0
        runtime.converge_at = runtime.running_since = None

    def action_time(self, at: float) -> str:
        """Action timestamps as the emulated version writes them: 2.32 sends SQLite's
        ``YYYY-MM-DD HH:MM:SS`` in UTC (contract §2.8, the live-verified S4), 2.2x ISO 8601."""
        if self.settings.era == "current":
            return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return iso(at)

    def add_action(
        self,
        kind: str,
        project: str,
        service: str,
        description: str,
        *,
        pending: bool,
        status: str = "done",
        log: str = "",
    ) -> dict[str, Any]:
        now = self.clock.now()
        action = {
            "id": new_id(),
            "type": kind,
            "status": "pending" if pending else status,
            "projectName": project,
            "serviceName": service,
            "description": description,
            "userId": self.admin["id"],
            "isApiAction": True,
            "meta": None,
            "createdAt": self.action_time(now),
            "updatedAt": self.action_time(now),
            "_due": now + self.settings.deploy_delay if pending else None,
            "_log": log,
        }
        self.state.actions.append(action)
        return action

    def settle(self) -> None:
        """Bring the simulation up to the clock: actions, task counts, log lines."""
        now = self.clock.now()
        for action in self.state.actions:
            if (
                action["status"] == "pending"
                and action["_due"] is not None
                and action["_due"] <= now
            ):
                action["status"] = "done"
                action["updatedAt"] = self.action_time(action["_due"])
                action["_log"] += "Service updated.\nDone.\n"
        for key, runtime in self.state.runtime.items():
            if runtime.converge_at is not None and runtime.converge_at <= now:
                runtime.actual = 0 if runtime.error else runtime.desired
                if runtime.actual and runtime.running_since is None:
                    runtime.running_since = runtime.converge_at
                    runtime.logs.append((_ns(runtime.converge_at), "stdout", "Service started"))
                runtime.converge_at = None
            if runtime.actual and runtime.running_since is not None:
                self._write_logs(key, runtime, now)

    def _write_logs(self, key: str, runtime: Runtime, now: float) -> None:
        interval = self.settings.log_interval
        last = runtime.last_log_at or runtime.running_since or now
        steps = int((now - last) // interval)
        if steps <= 0:
            return
        seed = zlib.crc32(key.encode())
        first = max(1, steps - 200)
        for step in range(first, steps + 1):
            at = last + step * interval
            index = int(at // interval) + seed
            text = _LOG_MESSAGES[index % len(_LOG_MESSAGES)].format(n=3 + index % 40)
            stream = "stderr" if index % 10 == 0 else "stdout"
            runtime.logs.append((_ns(at), stream, text))
        runtime.last_log_at = last + steps * interval
        del runtime.logs[:-MAX_LOG_LINES]

    def usage(self, project: str, service: str) -> tuple[float, float, float, float] | None:
        """(cpu %, memory bytes, network in B/s, network out B/s) of a running service."""
        runtime = self.runtime(project, service)
        if not runtime.actual:
            return None
        seed = zlib.crc32(swarm_name(project, service).encode())
        wave = (1 + math.sin(self.clock.now() / 60 + seed)) / 2
        cpu = (0.5 + (seed % 20) / 10 + 1.5 * wave) * runtime.actual
        memory = ((64 + seed % 192) * 1024 * 1024 + wave * 8 * 1024 * 1024) * runtime.actual
        return round(cpu, 3), round(memory), round(2048 + 4096 * wave), round(1024 + 8192 * wave)

    def storage(self, service: dict[str, Any]) -> int:
        """Bytes on disk: a per-service base that grows with the service's age."""
        seed = zlib.crc32(swarm_name(service["projectName"], service["name"]).encode())
        age = max(0.0, self.clock.now() - service["_created"])
        return (5 + seed % 50) * 1024 * 1024 + int(age * 512)


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """An API object without the emulator's bookkeeping (keys starting with ``_``)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _ns(at: float) -> int:
    return int(at * 1_000_000_000)
