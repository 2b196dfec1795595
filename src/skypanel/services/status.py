"""A service's real state, read from Easypanel: deploy progress from its actions, starting,
running, stopped or crash-looping from its Swarm tasks.

One model for every service: `creating → deploying → starting → running`, `stopping → stopped`,
`crash-looping`, `failed`, `missing` (and `restarting`, `deleting` while those happen). Swarm only
reports how many tasks run, so time decides the rest, and each service's recent observations are
remembered for a few minutes (`Health`, in the cache every process shares):

- "starting" holds until the tasks have been up for a settling time without a break; a service
  first seen up long after its start (the start window) is simply running;
- tasks down right after a start are "starting" (an image pull or a slow boot), and down after
  having been up, or long after a start, are "starting" again for a grace time (Swarm restarts a
  task that stops) and "crash-looping" only when they stay down beyond that (`Timing`, from the
  settings `SKYPANEL_SERVICE_SETTLE_SECONDS`, `…_START_WINDOW_SECONDS`, `…_DOWN_GRACE_SECONDS`);
- the health watch (`skypanel.services.health`) makes the same judgement every minute for every
  service, records `crash_looping_since` and tells the organization once per episode.

Task counts are shared for two seconds per server (the pages poll as often), but never across a
change: counts read before a service's last change are read again, so the page of the person who
just started or stopped something shows what happened next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.config import Settings
from skypanel.easypanel import EasypanelClient, EasypanelError, swarm_name
from skypanel.easypanel.workload import database_kind
from skypanel.kit import clock
from skypanel.kit.cache import Cache
from skypanel.kit.uow import release
from skypanel.models import ContainerProject, ContainerService, EasypanelServer
from skypanel.servers.clients import ClientPool, TaskCounts
from skypanel.servers.degraded import note, server_of, when_down
from skypanel.servers.schemas import Degraded

HEALTH_TTL = 900.0
TRANSITIONS = ("creating", "deleting", "stopping", "starting", "restarting")
"""A change is on its way: its operation records what comes next."""
SETTLED = (*TRANSITIONS, "failed")
"""Shown as recorded."""
IN_PROGRESS = ("deploying",)
"""Only while one of these is shown are the deploy actions read (one more call)."""
SENTENCES = {
    "creating": "Easypanel is creating the service.",
    "deploying": "A new version is being built and deployed.",
    "starting": "The containers are starting; they count as running once they stay up.",
    "running": "Running.",
    "restarting": "Restarting.",
    "stopping": "Stopping.",
    "stopped": "Stopped; start it to serve again.",
    "crash-looping": "The containers keep stopping and being restarted.",
    "failed": "The last change failed.",
    "missing": "Easypanel does not know this service any more.",
    "deleting": "Being deleted.",
}
CRASHING = "The containers keep stopping; see the logs for why"


def sentence(status: str, error: str | None = None) -> str:
    """The status in words, with the reason when there is one."""
    said = SENTENCES.get(status, status.capitalize() + ".")
    return f"{said} {error}." if error and status in ("failed", "crash-looping") else said


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds: tasks stay up `settle` after a start before the service counts as running; tasks
    not up yet within `start_window` of a start are starting; tasks may stay down `down_grace`
    (Swarm restarting them) before the service is crash-looping."""

    settle: float
    start_window: float
    down_grace: float

    @classmethod
    def of(cls, settings: Settings) -> Timing:
        return cls(
            settings.service_settle_seconds,
            settings.service_start_window_seconds,
            settings.service_down_grace_seconds,
        )


@dataclass(frozen=True, slots=True)
class Observed:
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """What was seen of a service's tasks since its last start: since when they are up (or down),
    and whether they have been up at all."""

    start: float | None = None
    up_since: float | None = None
    down_since: float | None = None
    seen_up: bool = False

    def to_json(self) -> list[float | bool | None]:
        return [self.start, self.up_since, self.down_since, self.seen_up]

    @classmethod
    def from_json(cls, raw: object, start: float | None) -> Health:
        """The remembered observations, unless they belong to an earlier start."""
        if isinstance(raw, list) and len(raw) == 4 and raw[0] == start:
            return cls(raw[0], raw[1], raw[2], bool(raw[3]))
        return cls(start)


def _stamp(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def judge(
    service: ContainerService, tasks: tuple[int, int], health: Health, now: float, timing: Timing
) -> tuple[Observed, Health]:
    """A service wanted running, from its (desired, actual) tasks and what was seen before."""
    desired, actual = tasks
    start = _stamp(service.started_at)
    fresh = start is not None and now - start < timing.start_window
    if desired == 0 or service.status == "stopped" or service.desired_state == "stopped":
        if fresh and service.desired_state == "running":
            return Observed("starting"), health
        return Observed("stopped"), Health(start)
    if actual >= desired:
        since = health.up_since if health.up_since is not None else now
        seen = Health(start, since, None, True)
        if fresh and now - since < timing.settle:
            return Observed("starting"), seen
        return Observed("running"), seen
    since = health.down_since if health.down_since is not None else now
    seen = Health(start, None, since, health.seen_up)
    if service.crash_looping_since is not None:
        return Observed("crash-looping", CRASHING), seen
    if fresh and not health.seen_up:
        return Observed("starting"), seen
    if now - since < timing.down_grace:
        return Observed("starting"), seen
    return Observed("crash-looping", CRASHING), seen


def derive(
    service: ContainerService,
    tasks: tuple[int, int] | None,
    action: tuple[str, str | None] | None,
    health: Health,
    now: float,
    timing: Timing,
) -> tuple[Observed, Health]:
    """From (desired, actual) tasks, the newest deploy action (status, description) and what was
    seen of the tasks before."""
    if service.status in SETTLED:
        return Observed(service.status, service.last_error), health
    if action is not None and action[0] in ("pending", "running"):
        return Observed("deploying"), health
    if action is not None and action[0] == "error":
        return Observed("failed", action[1] or "The last deploy failed"), health
    if tasks is None:
        start = _stamp(service.started_at)
        if start is not None and now - start < timing.start_window:
            return Observed("deploying"), health
        return Observed("missing", "Easypanel does not know this service"), health
    return judge(service, tasks, health, now, timing)


def _health_key(service: ContainerService) -> str:
    return f"health:{service.id}"


async def remembered(cache: Cache, service: ContainerService) -> Health:
    return Health.from_json(await cache.get(_health_key(service)), _stamp(service.started_at))


async def remember(cache: Cache, service: ContainerService, before: Health, now: Health) -> None:
    if now != before:
        await cache.set(_health_key(service), now.to_json(), HEALTH_TTL)


async def observe(
    client: EasypanelClient,
    cache: Cache,
    tasks: TaskCounts,
    project: str,
    service: ContainerService,
    timing: Timing,
) -> Observed:
    if service.status in SETTLED:
        return Observed(service.status, service.last_error)
    action = None
    if database_kind(service.service_type) is None and service.status in IN_PROGRESS:
        newest = await client.list_actions(project, service.easypanel_service_name, limit=1)
        if newest:
            action = (newest[0].status, newest[0].description)
    before = await remembered(cache, service)
    seen = tasks.get(swarm_name(project, service.easypanel_service_name))
    now = clock.now().timestamp()
    observed, after = derive(service, seen, action, before, now, timing)
    await remember(cache, service, before, after)
    return observed


@dataclass(frozen=True, slots=True)
class Live:
    """Services as a read shows them: their observed states, and `degraded` when the server
    did not answer (the states are then as recorded)."""

    observed: list[Observed]
    degraded: Degraded | None = None


async def observe_services(
    session: AsyncSession,
    clients: ClientPool,
    cache: Cache,
    timing: Timing,
    project: ContainerProject,
    services: Sequence[ContainerService],
) -> Live:
    """The live read every service view makes: the server's state from the database, the
    session released, then `observe_on` the server."""
    server = await server_of(session, project.server_id)
    await release(session)
    return await observe_on(server, clients, cache, timing, project, services)


async def observe_on(
    server: EasypanelServer,
    clients: ClientPool,
    cache: Cache,
    timing: Timing,
    project: ContainerProject,
    services: Sequence[ContainerService],
) -> Live:
    """The project's services as its server shows them now: one read of the server's task
    counts (and of the deploy actions of each service still deploying). While the server is
    down, or when it does not answer, the services are as recorded and `degraded` says so; an
    error that is not about reaching the server is raised. No database session may be held
    across it: it waits on Easypanel."""
    recorded = [Observed(item.status, item.last_error) for item in services]
    degraded = when_down(server)
    if degraded is not None or all(item.status in SETTLED for item in services):
        return Live(recorded, degraded)
    name = project.easypanel_project_name
    changed = max(item.updated_at for item in services if item.status not in SETTLED)
    try:
        client = await clients.client_of(server)
        tasks = await clients.task_counts(client, server.id, changed)
        observed = [await observe(client, cache, tasks, name, item, timing) for item in services]
    except EasypanelError as exc:
        if not exc.retryable:
            raise
        return Live(recorded, note(server))
    return Live(observed)
