"""The in-process control API of a running emulator (the HTTP control routes call it too)."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from skypanel.emulator import _h_backups, _seed
from skypanel.emulator._faults import Envelope, FailRule, Faults, HangRule, RecordedRequest
from skypanel.emulator._state import State
from skypanel.emulator._world import World, public

RequestHook = Callable[[RecordedRequest], None]
"""Called with each RPC request as it arrives, before it is handled and answered."""


class EmulatorController:
    def __init__(self, world: World) -> None:
        self.world = world
        self.faults = Faults()
        self._journal: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._hangs: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._hooks: list[RequestHook] = []

    # State -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the emulator holds, settled to the current clock (a deep copy)."""
        with self.world.lock:
            self.world.settle()
            return copy.deepcopy(self.world.state.to_json())

    def service(self, project: str, service: str) -> dict[str, Any] | None:
        with self.world.lock:
            self.world.settle()
            found = self.world.state.services.get(State.key(project, service))
            return None if found is None else copy.deepcopy(public(found))

    def tasks(self, project: str, service: str) -> tuple[int, int]:
        """(desired, actual) Swarm tasks of a service."""
        with self.world.lock:
            self.world.settle()
            runtime = self.world.runtime(project, service)
            return runtime.desired, runtime.actual

    def access(self, project: str) -> list[str]:
        with self.world.lock:
            return list(self.world.state.access.get(project, []))

    def set_service_error(self, project: str, service: str, message: str | None) -> None:
        """Make a service crash-loop (`message`: its tasks go down and stay down) or recover
        (None: Swarm's next restart of the tasks succeeds, after the deploy delay)."""
        with self.world.lock:
            runtime = self.world.runtime(project, service)
            runtime.error = message
            if message is not None:
                runtime.actual = 0
                runtime.running_since = None
            elif runtime.desired and runtime.actual < runtime.desired:
                self.world.run(project, service, runtime.desired)
            elif runtime.desired:
                self.world.run(project, service, runtime.desired, delay=0)

    def edit_service(
        self, project: str, service: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a service's settings directly, as its owner can in Easypanel's own UI, including
        settings SkyPanel's client has no procedure for (mounts, privileged mode...). Nested objects
        are merged key by key; anything else is replaced. Returns the service as now reported."""
        with self.world.lock:
            found = self.world.service(project, service)
            _merge(found, copy.deepcopy(dict(changes)))
            self.world.persist()
            return copy.deepcopy(public(found))

    def seed(self, seed: Mapping[str, Any]) -> int:
        """Add many projects and running services at once (format: `_seed`); returns how many
        services were added."""
        with self.world.lock:
            self.world.settle()
            added = _seed.load(self.world, seed, _merge)
            self.world.persist()
            return added

    def database_data(self, project: str, service: str) -> str:
        """What a database holds (a backup saves it, a restore puts it back)."""
        with self.world.lock:
            return str(self.world.service(project, service).get("_data", ""))

    def set_database_data(self, project: str, service: str, data: str) -> None:
        with self.world.lock:
            self.world.service(project, service)["_data"] = data
            self.world.persist()

    def run_scheduled_backups(self, project: str, service: str) -> list[dict[str, Any]]:
        """Run a service's enabled backup configurations as their schedule would; returns the
        actions."""
        with self.world.lock:
            self.world.settle()
            actions = [
                _h_backups.run(self.world, backup, by_api=False)
                for backup in list(self.world.state.database_backups.values())
                if (backup["projectName"], backup["serviceName"]) == (project, service)
                and backup["enabled"]
            ]
            self.world.persist()
            return copy.deepcopy([public(action) for action in actions])

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock (pending deploys finish, logs and stats move)."""
        self.world.clock.advance(seconds)
        with self.world.lock:
            self.world.settle()

    def reset(self) -> None:
        """Fresh state, no faults, empty journal; hanging requests are released.

        Request hooks stay: they belong to whoever drives the emulator, not to its state."""
        self.world.reset()
        self.clear_faults()
        self.clear_requests()

    # Faults ----------------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        self.faults.latency = seconds

    def set_failure_rate(self, rate: float, *, status: int = 500, seed: int | None = None) -> None:
        self.faults.failure_rate = rate
        self.faults.failure_status = status
        if seed is not None:
            self.faults.reseed(seed)

    def fail(
        self,
        procedure: str = "*",
        *,
        times: int = 1,
        status: int = 500,
        envelope: Envelope = "dialect",
        message: str = "Injected failure",
        code: str | None = None,
        zod_errors: Any = None,
        after_effect: bool = False,
        retry_after: float | None = None,
    ) -> FailRule:
        rule = FailRule(
            procedure, times, status, envelope, message, code, zod_errors, after_effect, retry_after
        )
        self.faults.rules.append(rule)
        return rule

    def hang(self, procedure: str = "*", *, times: int = 1, seconds: float = 10.0) -> HangRule:
        rule = HangRule(procedure, times, seconds)
        self.faults.hangs.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults = Faults()
        self.release_hangs()

    def hang_event(self) -> asyncio.Event:
        """An event, set by `release_hangs()`, that a hanging request waits on."""
        event = asyncio.Event()
        with self._lock:
            self._hangs.append((asyncio.get_running_loop(), event))
        return event

    def release_hangs(self) -> None:
        with self._lock:
            hangs, self._hangs = self._hangs, []
        for loop, event in hangs:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def faults_json(self) -> dict[str, Any]:
        return {
            "latency": self.faults.latency,
            "failureRate": self.faults.failure_rate,
            "failureStatus": self.faults.failure_status,
            "rules": [asdict(rule) for rule in self.faults.rules],
            "hangs": [asdict(rule) for rule in self.faults.hangs],
        }

    # Journal ---------------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        """Journal a request as it arrives, then run the request hooks on it (in the emulator's
        thread, before the request is handled: a slow hook delays the answer)."""
        with self._lock:
            self._journal.append(request)
            hooks = list(self._hooks)
        for hook in hooks:
            hook(request)

    def on_request(self, hook: RequestHook) -> Callable[[], None]:
        """Run `hook` on every RPC request from now on; returns a function that removes it.

        The hook runs synchronously in the emulator's server thread and should not raise (an
        exception there answers the request with a 500)."""
        with self._lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._lock:
                if hook in self._hooks:
                    self._hooks.remove(hook)

        return remove

    def requests(self, procedure: str | None = None) -> list[RecordedRequest]:
        """Requests received so far (oldest first), optionally of one procedure."""
        with self._lock:
            return [r for r in self._journal if procedure is None or r.procedure == procedure]

    def clear_requests(self) -> None:
        with self._lock:
            self._journal.clear()


def _merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge(current, value)
        else:
            target[key] = value
