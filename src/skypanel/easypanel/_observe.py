"""Actions, monitoring, logs, templates and service errors (contract §2.6, §2.8-§2.10).

Monitoring moved between versions: ``monitor.*`` up to 2.30, ``monitorOld.*`` and the Prometheus
``metrics.*`` from 2.31. The client tries the names of the detected era first and falls back on
404, remembering the name that answered.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any, Literal

from skypanel.easypanel._base import ClientBase, parse, parse_list
from skypanel.easypanel.errors import EasypanelProcedureNotFound
from skypanel.easypanel.schemas import (
    Action,
    AnyDatabaseSpec,
    AppSpec,
    ComposeSpec,
    CreateFromSchemaInput,
    IdInput,
    ListActionsInput,
    LogLine,
    QueryLogsInput,
    ServerCapacity,
    ServerStatus,
    ServiceRef,
    ServiceStats,
    StorageStat,
    SwarmNode,
    SystemStatsInput,
    TaskStats,
    TemplateSchema,
    TemplateService,
    template_service,
)

_LEGACY_NAMES = {
    "tasks": ("monitor.getDockerTaskStats", "monitorOld.getDockerTaskStats"),
    "storage": ("monitor.getStorageStats", "monitorOld.getStorageStats"),
    "service": ("monitor.getServiceStats", "metrics.getServiceStats", "monitorOld.getServiceStats"),
}
_CURRENT_NAMES = {
    "tasks": ("monitorOld.getDockerTaskStats", "monitor.getDockerTaskStats"),
    "storage": ("monitorOld.getStorageStats", "monitor.getStorageStats"),
    "service": ("metrics.getServiceStats", "monitorOld.getServiceStats", "monitor.getServiceStats"),
}


class ObserveMixin(ClientBase):
    async def get_service_error(self, project: str, service: str) -> str | None:
        """Why a service is failing, or None when it is healthy."""
        body = ServiceRef(project_name=project, service_name=service)
        result = await self._send("services.common.getServiceError", body)
        if result is None or isinstance(result, str):
            return result or None
        if isinstance(result, dict) and isinstance(result.get("message"), str):
            return str(result["message"])
        return json.dumps(result)

    async def create_from_schema(
        self,
        project: str,
        services: Sequence[TemplateService | AppSpec | AnyDatabaseSpec | ComposeSpec],
        *,
        name: str | None = None,
    ) -> None:
        """Create several services at once, as a template does (the project must exist)."""
        body = CreateFromSchemaInput(
            name=name,
            project_name=project,
            template=TemplateSchema(services=[_as_template(entry) for entry in services]),
        )
        await self._send("templates.createFromSchema", body)

    async def list_actions(
        self,
        project: str | None = None,
        service: str | None = None,
        *,
        limit: int = 8,
        type: str | None = None,
    ) -> list[Action]:
        """Recent actions, newest first; the newest deploy's `status` tells how it went."""
        body = ListActionsInput(project_name=project, service_name=service, limit=limit, type=type)
        return parse_list(
            Action, await self._send("actions.listActions", body), "actions.listActions"
        )

    async def get_action(self, action_id: str) -> Action:
        """One action with its `log`."""
        return parse(
            Action,
            await self._send("actions.getAction", IdInput(id=action_id)),
            "actions.getAction",
        )

    async def get_task_stats(self, only: Collection[str] | None = None) -> dict[str, TaskStats]:
        """Swarm replicas per ``<project>_<service>``; with `only`, of those names alone (a
        server's 20,000 entries would otherwise each become a model)."""
        payload = await self._first_available(await self._names_for("tasks"), None)
        if not isinstance(payload, dict):
            return {}
        wanted = payload.keys() if only is None else payload.keys() & set(only)
        return {name: parse(TaskStats, payload[name], "getDockerTaskStats") for name in wanted}

    async def get_storage_stats(self) -> list[StorageStat]:
        """Disk used by each service's volumes, in bytes."""
        payload = await self._first_available(await self._names_for("storage"), None)
        return parse_list(StorageStat, payload or [], "getStorageStats")

    async def get_service_stats(self, project: str, service: str) -> ServiceStats | None:
        """Latest CPU, memory and network of one service; None when it is not running."""
        body = ServiceRef(project_name=project, service_name=service)
        payload = await self._first_available(await self._names_for("service"), body)
        return _service_stats(project, service, payload)

    async def query_service_logs(
        self,
        project: str,
        service: str,
        *,
        start: int | None = None,
        end: int | None = None,
        limit: int = 100,
        search: str | None = None,
        stream: Literal["stdout", "stderr"] | None = None,
    ) -> list[LogLine]:
        """Log lines (2.31+ only), oldest first. `start`/`end` are nanosecond epochs; to tail,
        pass the last line's timestamp + 1."""
        body = QueryLogsInput(
            project_name=project,
            service_name=service,
            start=None if start is None else str(start),
            end=None if end is None else str(end),
            limit=limit,
            search=search,
            stream=stream,
        )
        payload = await self._send("logs.queryServiceLogs", body)
        return _log_lines(payload)

    async def get_capacity(self) -> ServerCapacity:
        """The server's cores, memory and disk with what is used now: Prometheus totals on
        2.31+ (``metrics.getSystemStats``), else the older snapshot in MB and GB."""
        if await self._transport.detect() == "orpc":
            try:
                payload = await self._send("metrics.getSystemStats", SystemStatsInput(range=300))
            except EasypanelProcedureNotFound:
                payload = None
            if isinstance(payload, dict) and payload.get("memoryTotalBytes") is not None:
                return _prometheus_capacity(payload)
        names = ("monitor.getSystemStats", "monitorOld.getSystemStats")
        if await self._transport.detect() == "orpc":
            names = names[::-1]
        return _snapshot_capacity(await self._first_available(names, None))

    async def list_nodes(self) -> list[SwarmNode]:
        """The Swarm nodes of the server with their size (``cluster.listNodes``)."""
        payload = await self._send("cluster.listNodes")
        return [_node(item) for item in payload or [] if isinstance(item, dict)]

    async def server_version(self) -> str | None:
        """The Easypanel version reported by `update.getStatus`, when it says."""
        payload = await self._send("update.getStatus")
        return parse(ServerStatus, payload or {}, "update.getStatus").version

    async def _names_for(self, family: str) -> tuple[str, ...]:
        dialect = await self._transport.detect()
        return (_CURRENT_NAMES if dialect == "orpc" else _LEGACY_NAMES)[family]


def _as_template(
    entry: TemplateService | AppSpec | AnyDatabaseSpec | ComposeSpec,
) -> TemplateService:
    if isinstance(entry, AppSpec | ComposeSpec | AnyDatabaseSpec):
        return template_service(entry)
    return entry


def _last(series: Any) -> float | None:
    """The value of the newest ``[timestamp, "value"]`` point of a Prometheus series."""
    if isinstance(series, list) and series and isinstance(series[-1], list | tuple):
        return float(series[-1][-1])
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float | str) and value != "" else None


def _service_stats(project: str, service: str, payload: Any) -> ServiceStats | None:
    """Normalise ``metrics.getServiceStats`` series or ``monitor*.getServiceStats`` snapshots."""
    if not isinstance(payload, dict):
        return None
    cpu, memory, network = payload.get("cpu"), payload.get("memory"), payload.get("network")
    if isinstance(cpu, dict) or isinstance(memory, dict):
        cpu_d = cpu if isinstance(cpu, dict) else {}
        memory_d = memory if isinstance(memory, dict) else {}
        network_d = network if isinstance(network, dict) else {}
        return ServiceStats(
            project_name=project,
            service_name=service,
            cpu_percent=_number(cpu_d.get("percent")),
            memory_bytes=_number(memory_d.get("usage")),
            network_in=_number(network_d.get("in")),
            network_out=_number(network_d.get("out")),
        )
    return ServiceStats(
        project_name=project,
        service_name=service,
        cpu_percent=_last(cpu),
        memory_bytes=_last(memory),
        network_in=_last(payload.get("networkIn")),
        network_out=_last(payload.get("networkOut")),
    )


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _prometheus_capacity(payload: dict[str, Any]) -> ServerCapacity:
    return ServerCapacity(
        cpus=_number(payload.get("cpuCores")),
        cpu_percent=_last(payload.get("cpu")),
        memory_total_bytes=_integer(payload.get("memoryTotalBytes")),
        memory_used_bytes=_integer(payload.get("memoryUsedBytes")),
        disk_total_bytes=_integer(payload.get("diskTotalBytes")),
        disk_used_bytes=_integer(payload.get("diskUsedBytes")),
    )


def _snapshot_capacity(payload: Any) -> ServerCapacity:
    """``{memInfo: {totalMemMb, usedMemMb}, diskInfo: {totalGb, usedGb} (strings), cpuInfo}``."""
    found = payload if isinstance(payload, dict) else {}
    memory, disk, cpu = (found.get(k) or {} for k in ("memInfo", "diskInfo", "cpuInfo"))
    mb, gb = 1024 * 1024, 1024**3

    def scaled(value: Any, unit: int) -> int | None:
        number = _number(value)
        return None if number is None else int(number * unit)

    return ServerCapacity(
        cpus=_number(cpu.get("count")),
        cpu_percent=_number(cpu.get("usedPercentage")),
        memory_total_bytes=scaled(memory.get("totalMemMb"), mb),
        memory_used_bytes=scaled(memory.get("usedMemMb"), mb),
        disk_total_bytes=scaled(disk.get("totalGb"), gb),
        disk_used_bytes=scaled(disk.get("usedGb"), gb),
    )


def _node(item: dict[str, Any]) -> SwarmNode:
    spec, description = item.get("Spec") or {}, item.get("Description") or {}
    resources = description.get("Resources") or {}
    nano = _number(resources.get("NanoCPUs"))
    return SwarmNode(
        id=str(item.get("ID", "")),
        hostname=description.get("Hostname"),
        role=spec.get("Role"),
        availability=spec.get("Availability"),
        state=(item.get("Status") or {}).get("State"),
        cpus=None if nano is None else nano / 1e9,
        memory_bytes=_integer(resources.get("MemoryBytes")),
    )


def _log_lines(payload: Any) -> list[LogLine]:
    """Flatten Loki streams ``{"entries": [{"values": [["<ns>", "line"], ...]}, ...]}``."""
    streams = payload.get("entries", []) if isinstance(payload, dict) else payload or []
    lines = [
        LogLine(timestamp_ns=int(value[0]), line=str(value[1]))
        for stream in streams
        if isinstance(stream, dict)
        for value in stream.get("values", [])
        if isinstance(value, list | tuple) and len(value) >= 2
    ]
    return sorted(lines, key=lambda line: line.timestamp_ns)
