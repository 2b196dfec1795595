"""A service's real state, read from Easypanel: deploy progress from its actions, running,
stopped or crash-looping from its Swarm tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.workload import database_kind
from skypanel.kit.cache import Cache
from skypanel.models import ContainerService

TASKS_TTL = 10.0
TRANSITIONS = ("creating", "deleting", "stopping", "starting", "restarting")
"""A change is on its way: its operation records what comes next."""
SETTLED = (*TRANSITIONS, "failed")
"""Shown as recorded."""
IN_PROGRESS = ("deploying",)
"""Only while one of these is shown are the deploy actions read (one more call)."""


@dataclass(frozen=True, slots=True)
class Observed:
    status: str
    error: str | None = None


def derive(
    service: ContainerService,
    tasks: tuple[int, int] | None,
    action: tuple[str, str | None] | None,
) -> Observed:
    """From (desired, actual) tasks and the newest deploy action (status, description)."""
    if service.status in SETTLED:
        return Observed(service.status, service.last_error)
    if action is not None and action[0] in ("pending", "running"):
        return Observed("deploying")
    if action is not None and action[0] == "error":
        return Observed("failed", action[1] or "The last deploy failed")
    if tasks is None:
        return Observed("missing", "Easypanel does not know this service")
    desired, actual = tasks
    if desired == 0 or service.status == "stopped":
        # Task counts are shared for a few seconds; a service just stopped is stopped.
        return Observed("stopped")
    if actual >= desired:
        return Observed("running")
    return Observed("crash-looping", "The service keeps stopping; see its logs")


async def task_stats(
    client: EasypanelClient, cache: Cache, server_id: uuid.UUID
) -> dict[str, tuple[int, int]]:
    """Every service's (desired, actual) tasks on a server, shared for a few seconds."""
    key = f"tasks:{server_id}"
    cached = await cache.get(key)
    if cached is None:
        stats = await client.get_task_stats()
        cached = {name: [s.desired, s.actual] for name, s in stats.items()}
        await cache.set(key, cached, TASKS_TTL)
    return {name: (pair[0], pair[1]) for name, pair in cached.items()}


async def observe(
    client: EasypanelClient,
    cache: Cache,
    server_id: uuid.UUID,
    project: str,
    service: ContainerService,
) -> Observed:
    if service.status in SETTLED:
        return Observed(service.status, service.last_error)
    tasks = await task_stats(client, cache, server_id)
    action = None
    if database_kind(service.service_type) is None and service.status in IN_PROGRESS:
        newest = await client.list_actions(project, service.easypanel_service_name, limit=1)
        if newest:
            action = (newest[0].status, newest[0].description)
    return derive(service, tasks.get(f"{project}_{service.easypanel_service_name}"), action)
