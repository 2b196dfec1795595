"""What a run found, worked out without the database or the network: the records as they were
before Easypanel was listed, compared with the listing. Everything is indexed by name.

The listing is Easypanel's answer with every service in full (about 3 KB each once decoded, 60 MB
for a server of 20,000). It is never held whole: `Comparison` is handed one project or service at
a time as the answer arrives (`EasypanelClient.call_lists`); each is validated, judged and
dropped, and only the services to import are kept as models."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from skypanel.easypanel import EasypanelApiError, swarm_name
from skypanel.easypanel.schemas import Project, Service, TaskStats
from skypanel.models import ContainerProject, ContainerService
from skypanel.templates.safety import Violation, service_violations

Key = tuple[str, str]
"""(Easypanel project name, Easypanel service name)."""
M = TypeVar("M", bound=BaseModel)

LISTING = "projects.listProjectsAndServices"
"""Every project and service of a server, in one answer."""
LISTS = ("projects", "services")
"""The lists of that answer."""

NOT_JUDGED = frozenset({"creating", "deleting", "missing"})
"""Service records a missing Easypanel service says nothing about."""
IMPORTABLE_INTO = frozenset({"active", "missing"})
ERROR_LIMIT = 1000
SAFETY_STOP = "safetyStop"
"""Key of `ContainerService.configuration`: the reason the service was stopped for safety (kept
beside `last_error`, which later operations may clear)."""


@dataclass(frozen=True, slots=True)
class SeenProject:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    status: str
    updated_at: datetime

    def unchanged(self, row: ContainerProject) -> bool:
        return (row.status, row.updated_at) == (self.status, self.updated_at)


@dataclass(frozen=True, slots=True)
class SeenService:
    id: uuid.UUID
    project_id: uuid.UUID
    project: str
    name: str
    status: str
    desired_state: str
    safety_stop: str | None
    updated_at: datetime

    @property
    def where(self) -> str:
        return f"{self.project}/{self.name}"

    def unchanged(self, row: ContainerService) -> bool:
        return (row.status, row.updated_at) == (self.status, self.updated_at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    projects: dict[str, SeenProject]
    services: dict[Key, SeenService]


@dataclass(frozen=True, slots=True)
class Unsafe:
    """A recorded service that Easypanel reports breaking the safety rules."""

    seen: SeenService
    violations: list[Violation]
    reason: str

    @property
    def marked(self) -> bool:
        """Already stopped for this very reason (by an earlier run)."""
        return self.seen.desired_state == "stopped" and self.seen.safety_stop == self.reason


@dataclass(frozen=True, slots=True)
class Import:
    project: SeenProject
    found: Service
    violations: list[Violation]


@dataclass
class Findings:
    missing_services: list[SeenService] = field(default_factory=list)
    missing_projects: list[SeenProject] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    unsafe: list[Unsafe] = field(default_factory=list)
    unknown_projects: list[str] = field(default_factory=list)


class Comparison:
    """Records whose resource is gone, services to import, unsafe services, unknown projects:
    the listing's entries are given one at a time (`__call__`), then `findings` says.

    Only records that existed before the listing started can be found missing: a service
    deployed meanwhile is not in the snapshot. A malformed entry raises EasypanelApiError."""

    def __init__(self, before: Snapshot) -> None:
        self._before = before
        self._unlisted = dict(before.services)
        """Recorded services not listed yet: what is left at the end is missing."""
        self._imported: set[Key] = set()
        self._names: set[str] = set()
        self._found = Findings()

    def __call__(self, kind: str, item: Any) -> None:
        if kind == "projects":
            self._names.add(_read(Project, item).name)
            return
        reported = _read(Service, item)
        key = (reported.project_name, reported.name)
        seen = self._unlisted.pop(key, None)
        if seen is not None:
            violations = service_violations(reported)
            if violations:
                self._found.unsafe.append(Unsafe(seen, violations, stop_reason(violations)))
            return
        holder = self._before.projects.get(key[0])
        if key in self._before.services or holder is None or key in self._imported:
            return  # listed twice, or in a project without a record
        if holder.status in IMPORTABLE_INTO:
            self._imported.add(key)
            self._found.imports.append(Import(holder, reported, service_violations(reported)))

    def findings(self) -> Findings:
        found, before = self._found, self._before
        found.missing_services = [
            seen for seen in self._unlisted.values() if seen.status not in NOT_JUDGED
        ]
        found.missing_projects = [
            project
            for name, project in before.projects.items()
            if name not in self._names and project.status == "active"
        ]
        found.unknown_projects = sorted(self._names - before.projects.keys())
        return found


def _read(model: type[M], item: Any) -> M:
    try:
        return model.model_validate(item)
    except ValueError as exc:
        raise _malformed(type(exc).__name__) from exc


def _malformed(why: str) -> EasypanelApiError:
    return EasypanelApiError(f"Easypanel {LISTING}: unexpected answer ({why})", procedure=LISTING)


def running_again(unsafe: Unsafe, tasks: Mapping[str, TaskStats] | None) -> bool:
    """A service already stopped for its reason that Easypanel runs again (someone started it
    there). Without task stats the record is trusted."""
    if tasks is None:
        return False
    stats = tasks.get(task_of(unsafe))
    return stats is not None and stats.desired > 0


def task_of(unsafe: Unsafe) -> str:
    """The name Easypanel's task counts give the service (its Swarm service)."""
    return swarm_name(unsafe.seen.project, unsafe.seen.name)


def stopped_for(row: ContainerService, reason: str) -> bool:
    """Whether the record says the service is stopped for this reason."""
    return row.desired_state == "stopped" and row.configuration.get(SAFETY_STOP) == reason


def mark_stopped(row: ContainerService, reason: str) -> None:
    row.desired_state, row.last_error = "stopped", reason
    row.configuration = {**row.configuration, SAFETY_STOP: reason}


def stop_reason(violations: Iterable[Violation]) -> str:
    """The service's last error once stopped: one plain sentence."""
    sentence = f"Stopped by SkyPanel because it uses {listed(violations)}, which is not allowed."
    return sentence[:ERROR_LIMIT]


def listed(violations: Iterable[Violation]) -> str:
    reasons = list(dict.fromkeys(v.reason for v in violations))
    return reasons[0] if len(reasons) == 1 else f"{', '.join(reasons[:-1])} and {reasons[-1]}"


def namespace_prefixes(name: str) -> list[str]:
    """The organization slugs that would own an Easypanel project: `slug` or `slug-<name>`."""
    return [name] + [name[:index] for index, char in enumerate(name) if char == "-" and index]
