"""actions.*, monitoring (monitor.*, monitorOld.*, metrics.*), logs.*, templates.* and update.*.

A "legacy" emulator has ``monitor.*`` like 2.2x servers; a "current" one ``monitorOld.*``,
``metrics.*`` and ``logs.queryServiceLogs`` like 2.32.
"""

from __future__ import annotations

import re
from typing import Any

from skypanel.easypanel import swarm_name
from skypanel.easypanel.schemas import (
    CreateFromSchemaInput,
    IdInput,
    Input,
    ListActionsInput,
    QueryLogsInput,
    ServiceRef,
    ServiceStatsInput,
    TemplateApp,
    TemplateCompose,
)
from skypanel.emulator._h_databases import add_database
from skypanel.emulator._h_services import add_app, add_compose
from skypanel.emulator._registry import CURRENT, LEGACY, procedure
from skypanel.emulator._world import EmulatorError, World, public

_STEP = re.compile(r"^(\d+)s$")


@procedure("actions.listActions", ListActionsInput)
def list_actions(world: World, body: ListActionsInput) -> Any:
    found = [
        public(action)
        for action in reversed(world.state.actions)
        if (body.project_name is None or action["projectName"] == body.project_name)
        and (body.service_name is None or action["serviceName"] == body.service_name)
        and (body.type is None or action["type"] == body.type)
    ]
    return found[: body.limit]


@procedure("actions.getAction", IdInput)
def get_action(world: World, body: IdInput) -> Any:
    for action in world.state.actions:
        if action["id"] == body.id:
            return {**public(action), "log": action["_log"]}
    raise EmulatorError("Action not found")


def task_stats(world: World, _: None) -> Any:
    result = {}
    for service in world.state.services.values():
        runtime = world.runtime(service["projectName"], service["name"])
        name = swarm_name(service["projectName"], service["name"])
        result[name] = {"actual": runtime.actual, "desired": runtime.desired}
    return result


def storage_stats(world: World, _: None) -> Any:
    return [
        {
            "projectName": service["projectName"],
            "serviceName": service["name"],
            "size": world.storage(service),
            "path": f"/etc/easypanel/projects/{service['projectName']}/{service['name']}",
        }
        for service in world.state.services.values()
    ]


def snapshot_stats(world: World, body: ServiceRef) -> Any:
    """The older per-service snapshot: ``{cpu: {percent}, memory: {usage, percent}, network}``."""
    world.service(body.project_name, body.service_name)
    usage = world.usage(body.project_name, body.service_name)
    if usage is None:
        return None
    cpu, memory, received, sent = usage
    total = 8 * 1024**3
    return {
        "cpu": {"percent": cpu},
        "memory": {"usage": memory, "percent": round(memory / total * 100, 3)},
        "network": {"in": received, "out": sent},
    }


def _system(world: World) -> tuple[float, int, int, int, int]:
    """(cpu %, memory used and total, disk used and total in bytes) of the emulated node: what the
    running services use on top of a small base."""
    settings = world.settings
    services = list(world.state.services.values())
    usages = [world.usage(s["projectName"], s["name"]) for s in services]
    running = [u for u in usages if u is not None]
    cpu = min(100.0, 2.0 + sum(u[0] for u in running) / settings.cpus)
    memory_total = settings.memory_mb * 1024 * 1024
    memory = min(memory_total, 512 * 1024 * 1024 + sum(int(u[1]) for u in running))
    disk_total = settings.disk_gb * 1024**3
    disk = min(disk_total, 4 * 1024**3 + sum(world.storage(s) for s in services))
    return round(cpu, 2), memory, memory_total, disk, disk_total


def system_stats(world: World, _: None) -> Any:
    """The older whole-server snapshot (contract §2.9): MB and GB, disk figures as strings."""
    cpu, memory, memory_total, disk, disk_total = _system(world)
    mb, gb = 1024 * 1024, 1024**3
    return {
        "uptime": int(world.clock.now() - world.booted_at),
        "memInfo": {
            "totalMemMb": memory_total // mb,
            "usedMemMb": memory // mb,
            "freeMemMb": (memory_total - memory) // mb,
            "usedMemPercentage": round(memory / memory_total * 100, 2),
            "freeMemPercentage": round(100 - memory / memory_total * 100, 2),
        },
        "diskInfo": {
            "totalGb": f"{disk_total / gb:.2f}",
            "usedGb": f"{disk / gb:.2f}",
            "freeGb": f"{(disk_total - disk) / gb:.2f}",
            "usedPercentage": f"{disk / disk_total * 100:.2f}",
            "freePercentage": f"{100 - disk / disk_total * 100:.2f}",
        },
        "cpuInfo": {
            "usedPercentage": cpu,
            "count": world.settings.cpus,
            "loadavg": [round(cpu / 100 * world.settings.cpus, 2)] * 3,
        },
        "network": {"inputMb": 0.0, "outputMb": 0.0},
    }


for _group, _eras in (("monitor", LEGACY), ("monitorOld", CURRENT)):
    procedure(f"{_group}.getSystemStats", eras=_eras)(system_stats)
    procedure(f"{_group}.getDockerTaskStats", eras=_eras)(task_stats)
    procedure(f"{_group}.getServiceStats", ServiceRef, eras=_eras)(snapshot_stats)
    procedure(f"{_group}.getStorageStats", eras=_eras)(storage_stats)


@procedure("metrics.getServiceStats", ServiceStatsInput, eras=CURRENT)
def metrics_service_stats(world: World, body: ServiceStatsInput) -> Any:
    """Prometheus-style series ``[[ts, "value"], ...]``; null when the service is not running."""
    world.service(body.project_name, body.service_name)
    usage = world.usage(body.project_name, body.service_name)
    if usage is None:
        return None
    match = _STEP.match(body.step or "300s")
    step = int(match.group(1)) if match else 300
    points = max(1, min(60, (body.range or 86400) // max(step, 1)))
    now = int(world.clock.now())
    stamps = [now - step * i for i in reversed(range(points))]
    names = ("cpu", "memory", "networkIn", "networkOut")
    return {
        name: [[ts, str(value)] for ts in stamps] for name, value in zip(names, usage, strict=True)
    }


class SystemStatsInput(Input):
    range: float | None = None
    step: str | None = None


@procedure("metrics.getSystemStats", SystemStatsInput, eras=CURRENT)
def metrics_system_stats(world: World, body: SystemStatsInput) -> Any:
    """Prometheus-backed whole-server series and totals; numbers as strings (contract §2.9)."""
    cpu, memory, memory_total, disk, disk_total = _system(world)
    match = _STEP.match(body.step or "300s")
    step = int(match.group(1)) if match else 300
    points = max(1, min(60, int(body.range or 86400) // max(step, 1)))
    now = int(world.clock.now())
    stamps = [now - step * i for i in reversed(range(points))]

    def series(value: float) -> list[list[Any]]:
        return [[ts, str(value)] for ts in stamps]

    load = str(round(cpu / 100 * world.settings.cpus, 2))
    return {
        "cpu": series(cpu),
        "memory": series(round(memory / memory_total * 100, 2)),
        "disk": series(round(disk / disk_total * 100, 2)),
        "networkIn": series(0),
        "networkOut": series(0),
        "cpuCores": str(world.settings.cpus),
        "loadAvg": [load, load, load],
        "memoryUsedBytes": str(memory),
        "memoryTotalBytes": str(memory_total),
        "diskUsedBytes": str(disk),
        "diskTotalBytes": str(disk_total),
    }


@procedure("metrics.getAllServicesStats", eras=CURRENT)
def all_services_stats(world: World, _: None) -> Any:
    result = []
    for service in world.state.services.values():
        usage = world.usage(service["projectName"], service["name"])
        if usage is not None:
            cpu, memory, received, sent = usage
            result.append(
                {
                    "projectName": service["projectName"],
                    "serviceName": service["name"],
                    "cpu": cpu,
                    "memory": memory,
                    "networkIn": received,
                    "networkOut": sent,
                }
            )
    return result


@procedure("logs.queryServiceLogs", QueryLogsInput, eras=CURRENT)
def query_service_logs(world: World, body: QueryLogsInput) -> Any:
    """Loki-shaped: one stream per output (stdout/stderr), values ``[["<ns>", line], ...]``."""
    world.service(body.project_name, body.service_name)
    runtime = world.runtime(body.project_name, body.service_name)
    start = int(body.start) if body.start and body.start.isdigit() else None
    end = int(body.end) if body.end and body.end.isdigit() else None
    lines = [
        line
        for line in runtime.logs
        if (start is None or line[0] >= start)
        and (end is None or line[0] <= end)
        and (body.stream is None or line[1] == body.stream)
        and (body.search is None or body.search in line[2])
    ][-body.limit :]
    streams: dict[str, list[list[str]]] = {}
    for ns, stream, text in lines:
        streams.setdefault(stream, []).append([str(ns), text])
    service = swarm_name(body.project_name, body.service_name)
    return {
        "entries": [
            {"stream": {"service": service, "stream": stream}, "values": values}
            for stream, values in streams.items()
        ]
    }


@procedure("templates.createFromSchema", CreateFromSchemaInput, void=True)
def create_from_schema(world: World, body: CreateFromSchemaInput) -> None:
    """All or nothing: any existing name fails the whole template, as on the server."""
    project = body.project_name
    world.project(project)
    names = [entry.data.service_name for entry in body.template.services]
    if len(set(names)) != len(names) or any(
        f"{project}/{name}" in world.state.services for name in names
    ):
        raise EmulatorError("Service already exists")
    for entry in body.template.services:
        if isinstance(entry, TemplateApp):
            add_app(world, project, entry.data)
        elif isinstance(entry, TemplateCompose):
            add_compose(world, project, entry.data)
        else:
            add_database(world, project, entry.type, entry.data)


@procedure("update.getStatus")
def update_status(world: World, _: None) -> Any:
    return {"version": world.settings.version, "updateAvailable": False}
