"""The steps of a move in order, and the downtime each service sees (`skypanel.moves.service`).

Apps that write to no database are recreated on the target first, while their copies on the
source keep serving. Each project with databases is then a window: the apps that could write to
its databases stop on the source, each database is backed up, created on the target and restored
there (and gets its backup schedules there), and only then are those apps recreated on the
target. Nothing written on the source after a backup started is lost: nothing can write then.
An app that writes to the databases of several projects stops before the first of their windows
and comes back after the last.

The apps that could write to a database: the apps of its project, and any other app of the
organization whose variables (its own or its project's) name the database's internal host
(the services of all projects share the server's network).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from skypanel.easypanel import DATABASE_TYPES, swarm_name
from skypanel.models import (
    BackupSchedule,
    ContainerProject,
    ContainerService,
    EasypanelServer,
    ServiceDomain,
)
from skypanel.projects.env import project_env
from skypanel.services.secrets import service_env

APP_DOWNTIME = "none: recreated before the switch"
KEPT_STOPPED = "none: stopped by its owner, it stays stopped on the target"
DATABASE_DOWNTIME = "from the backup's start to the restore's end"


@dataclass(frozen=True, slots=True)
class Step:
    """One step: an operation of `kind` on the target (or the source), of the move's subject or,
    for the steps that reuse a service's handlers, of the service."""

    label: str
    kind: str
    description: str
    target: str
    on_target: bool
    project: ContainerProject | None = None
    service: ContainerService | None = None
    subject: str = "move"
    """Whose operation it is: the move's, or the service's or the subscription's when it reuses
    their handlers (which read the subject's row)."""
    domain: ServiceDomain | None = None
    volume: str | None = None
    """The app's volume whose backup schedule the step saves."""


@dataclass(frozen=True, slots=True)
class Downtime:
    project: str
    service: str
    type: str
    downtime: str


@dataclass(frozen=True, slots=True)
class Records:
    """What the organization has, as recorded, each in the order it was created."""

    projects: Sequence[ContainerProject]
    services: Sequence[ContainerService]
    domains: Sequence[ServiceDomain]
    schedules: Sequence[BackupSchedule]

    def project_of(self, service: ContainerService) -> ContainerProject:
        return next(p for p in self.projects if p.id == service.project_id)

    def where(self, service: ContainerService) -> str:
        project = self.project_of(service).easypanel_project_name
        return f"{project}/{service.easypanel_service_name}"


@dataclass(frozen=True, slots=True)
class _Window:
    databases: list[ContainerService]
    writers: list[ContainerService]


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _running(service: ContainerService) -> bool:
    return service.desired_state != "stopped"


@dataclass(slots=True)
class _Planner:
    source: EasypanelServer
    target: EasypanelServer
    records: Records
    steps: list[Step] = field(default_factory=list)

    def windows(self) -> list[_Window]:
        apps = [s for s in self.records.services if s.service_type not in DATABASE_TYPES]
        said = {app.id: self._variables(app) for app in apps}
        found = []
        for project in self.records.projects:
            databases = [
                s
                for s in self.records.services
                if s.project_id == project.id and s.service_type in DATABASE_TYPES
            ]
            hosts = [
                swarm_name(project.easypanel_project_name, d.easypanel_service_name)
                for d in databases
            ]
            writers = [
                app
                for app in apps
                if app.project_id == project.id or any(host in said[app.id] for host in hosts)
            ]
            if databases:
                found.append(_Window(databases, writers))
        return found

    def _variables(self, app: ContainerService) -> str:
        env = project_env(self.records.project_of(app)) | service_env(app)
        return "\n".join(env.values())

    def add(
        self,
        label: str,
        kind: str,
        description: str,
        service: ContainerService,
        *,
        on_target: bool = True,
        domain: ServiceDomain | None = None,
        volume: str | None = None,
    ) -> None:
        self.steps.append(
            Step(
                label,
                kind,
                description,
                self.records.where(service),
                on_target,
                self.records.project_of(service),
                service,
                subject="service",
                domain=domain,
                volume=volume,
            )
        )

    def stop(self, app: ContainerService, databases: Sequence[ContainerService]) -> None:
        names = _listed([self.records.where(d) for d in databases])
        self.add(
            "stop",
            "easypanel.move.stop",
            f"Stop the app {self.records.where(app)} on {self.source.name} so that nothing"
            f" writes to {names} while it moves",
            app,
            on_target=False,
        )

    def app(self, app: ContainerService) -> None:
        """Recreated from its recorded configuration (and stopped again if its owner stopped
        it), then its custom domains and its volumes' backup schedules."""
        where, target = self.records.where(app), self.target.name
        self.add(
            "app",
            "easypanel.move.app",
            f"Recreate the app {where} on {target} from its recorded configuration",
            app,
        )
        if not _running(app):
            self.add(
                "stop",
                "easypanel.move.stop",
                f"Stop the app {where} on {target}: its owner stopped it",
                app,
            )
        for domain in self.records.domains:
            if domain.service_id == app.id:
                self.add(
                    "domain",
                    "easypanel.move.domain",
                    f"Attach the domain {domain.host} to {where} on {target}",
                    app,
                    domain=domain,
                )
        self.schedules(app)

    def database(self, database: ContainerService) -> None:
        """Backed up on the source, created on the target and the backup restored there."""
        where, source, target = self.records.where(database), self.source.name, self.target.name
        self.add(
            "backup",
            "easypanel.backup.run",
            f"Back up the database {where} on {source}",
            database,
            on_target=False,
        )
        self.add(
            "database",
            "easypanel.move.database",
            f"Create the database {where} on {target}",
            database,
        )
        self.add(
            "restore",
            "easypanel.move.restore",
            f"Restore the backup into {where} on {target}",
            database,
        )
        self.schedules(database)

    def schedules(self, service: ContainerService) -> None:
        for schedule in self.records.schedules:
            if schedule.service_id != service.id:
                continue
            what = self.records.where(service)
            if schedule.volume is not None:
                what = f"the volume {schedule.volume} of {what}"
            state = "on" if schedule.enabled else "off"
            self.add(
                "schedule",
                "easypanel.move.schedule",
                f"Save the backup schedule of {what} on {self.target.name}"
                f" ({schedule.schedule}, {state}, keeping {schedule.retention})",
                service,
                volume=schedule.volume,
            )


def service_steps(
    source: EasypanelServer, target: EasypanelServer, records: Records
) -> tuple[list[Step], list[Downtime]]:
    """The steps that carry the services, and each service's downtime in plain words."""
    planner = _Planner(source, target, records)
    windows = planner.windows()
    first: dict[uuid.UUID, int] = {}
    last: dict[uuid.UUID, int] = {}
    writes_to: dict[uuid.UUID, list[ContainerService]] = {}
    for index, window in enumerate(windows):
        for app in window.writers:
            first.setdefault(app.id, index)
            last[app.id] = index
            writes_to.setdefault(app.id, []).extend(window.databases)
    for service in records.services:
        if service.service_type not in DATABASE_TYPES and service.id not in first:
            planner.app(service)
    for index, window in enumerate(windows):
        for app in window.writers:
            if first[app.id] == index:
                planner.stop(app, writes_to[app.id])
        for database in window.databases:
            planner.database(database)
        for app in window.writers:
            if last[app.id] == index:
                planner.app(app)
    downtimes = [
        Downtime(
            records.project_of(service).project_name,
            service.service_name,
            service.service_type,
            _downtime(source, target, service, windows, writes_to.get(service.id, [])),
        )
        for service in records.services
    ]
    return planner.steps, downtimes


def _downtime(
    source: EasypanelServer,
    target: EasypanelServer,
    service: ContainerService,
    windows: Sequence[_Window],
    writes_to: Sequence[ContainerService],
) -> str:
    if service.service_type in DATABASE_TYPES:
        writers = next(w for w in windows if service in w.databases).writers
        running = [w for w in writers if _running(w)]
        if not running:
            return DATABASE_DOWNTIME
        verb = "stops" if len(running) == 1 else "stop"
        names = _listed([w.service_name for w in running])
        return (
            f"{DATABASE_DOWNTIME}; {names} {verb} on {source.name} meanwhile, so no write is lost"
        )
    if not _running(service):
        return KEPT_STOPPED
    if not writes_to:
        return APP_DOWNTIME
    names = _listed([d.service_name for d in writes_to])
    return (
        f"from its stop on {source.name}, before the backup of {names}, until it runs on"
        f" {target.name} after the restore, so that no write is lost"
    )
