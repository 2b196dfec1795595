"""Monitoring, logs, templates and service errors, under both eras' procedure names."""

from __future__ import annotations

import pytest

from skypanel.easypanel import EasypanelClient, EasypanelProcedureNotFound, EasypanelResourceExists
from skypanel.easypanel.schemas import (
    AppSpec,
    ComposeSpec,
    ImageSource,
    InlineComposeSource,
    PostgresSpec,
    RedisSpec,
    TaskStats,
    TemplateApp,
)
from skypanel.emulator import RunningEmulator, running_emulator
from tests.easypanel._support import DEPLOY_DELAY, bodies

REF = {"projectName": "acme", "serviceName": "web"}
MONITOR = {"orpc": "monitorOld", "trpc": "monitor"}


async def _running_app(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await client.create_project("acme")
    await client.create_app("acme", AppSpec(service_name="web", source=ImageSource(image="nginx")))
    emulator.controller.advance(DEPLOY_DELAY)


async def test_task_stats_use_the_era_name(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await _running_app(client, emulator)
    await client.stop_app("acme", "web")

    stats = await client.get_task_stats()

    assert stats == {"acme_web": TaskStats(actual=0, desired=0)}
    assert bodies(emulator, f"{MONITOR[dialect]}.getDockerTaskStats") == [None]


async def test_task_stats_of_named_services_only(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _running_app(client, emulator)
    await client.create_app("acme", AppSpec(service_name="api", source=ImageSource(image="nginx")))
    emulator.controller.advance(DEPLOY_DELAY)

    assert set(await client.get_task_stats()) == {"acme_web", "acme_api"}
    assert await client.get_task_stats(only={"acme_api", "acme_gone"}) == {
        "acme_api": TaskStats(actual=1, desired=1)
    }


async def test_storage_stats_grow_with_time(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await _running_app(client, emulator)

    first = await client.get_storage_stats()
    emulator.controller.advance(3600)
    second = await client.get_storage_stats()

    assert [(s.project_name, s.service_name) for s in first] == [("acme", "web")]
    assert second[0].size - first[0].size == 3600 * 512
    assert bodies(emulator, f"{MONITOR[dialect]}.getStorageStats") == [None, None]


async def test_service_stats_only_while_running(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await _running_app(client, emulator)

    running = await client.get_service_stats("acme", "web")
    await client.stop_app("acme", "web")
    stopped = await client.get_service_stats("acme", "web")

    assert running is not None
    assert running.cpu_percent is not None
    assert running.cpu_percent > 0
    assert running.memory_bytes is not None
    assert running.memory_bytes > 64 * 1024 * 1024
    assert running.network_in is not None
    assert running.network_out is not None
    assert stopped is None
    name = "metrics.getServiceStats" if dialect == "orpc" else "monitor.getServiceStats"
    assert bodies(emulator, name) == [REF, REF]


async def test_monitoring_falls_back_to_the_other_name_once() -> None:
    """A 2.31+ server reached over tRPC: ``monitor.*`` is gone, ``monitorOld.*`` answers."""
    with running_emulator(dialect="trpc", era="current", manual_clock=True) as emulator:
        async with EasypanelClient(emulator.base_url, emulator.token, dialect="trpc") as client:
            await client.create_project("acme")
            first = await client.get_task_stats()
            second = await client.get_task_stats()
            storage = await client.get_storage_stats()

    asked = [r.procedure for r in emulator.controller.requests() if "Stats" in r.procedure]
    assert first == second == {}
    assert storage == []
    assert asked == [
        "monitor.getDockerTaskStats",
        "monitorOld.getDockerTaskStats",
        "monitorOld.getDockerTaskStats",
        "monitor.getStorageStats",
        "monitorOld.getStorageStats",
    ]


async def test_monitoring_raises_when_no_name_exists(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    emulator.controller.fail(f"{MONITOR[dialect]}.getDockerTaskStats", status=404, envelope="bare")

    with pytest.raises(EasypanelProcedureNotFound) as missing:
        await client.get_task_stats()

    asked = [r.procedure for r in emulator.controller.requests() if "TaskStats" in r.procedure]
    assert (
        asked
        == ["monitorOld.getDockerTaskStats", "monitor.getDockerTaskStats"][
            :: 1 if dialect == "orpc" else -1
        ]
    )
    assert "none of" in missing.value.message


async def test_logs_tail_with_a_nanosecond_cursor(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    await _running_app(client, emulator)
    emulator.controller.advance(10)

    if dialect == "trpc":
        with pytest.raises(EasypanelProcedureNotFound):
            await client.query_service_logs("acme", "web")
        return
    lines = await client.query_service_logs("acme", "web", limit=5)
    emulator.controller.advance(3)
    newer = await client.query_service_logs("acme", "web", start=lines[-1].timestamp_ns + 1)

    assert len(lines) == 5
    assert [line.timestamp_ns for line in lines] == sorted(line.timestamp_ns for line in lines)
    assert len(newer) == 3
    assert newer[0].timestamp_ns > lines[-1].timestamp_ns
    assert bodies(emulator, "logs.queryServiceLogs") == [
        {**REF, "limit": 5},
        {**REF, "start": str(lines[-1].timestamp_ns + 1), "limit": 100},
    ]


async def test_service_error_is_none_when_healthy(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await _running_app(client, emulator)

    healthy = await client.get_service_error("acme", "web")
    emulator.controller.set_service_error("acme", "web", "exit code 137 (out of memory)")
    failing = await client.get_service_error("acme", "web")
    tasks = await client.get_task_stats()

    assert healthy is None
    assert failing == "exit code 137 (out of memory)"
    assert tasks["acme_web"] == TaskStats(actual=0, desired=1)
    assert bodies(emulator, "services.common.getServiceError") == [REF, REF]


async def test_create_from_schema(client: EasypanelClient, emulator: RunningEmulator) -> None:
    await client.create_project("acme")

    await client.create_from_schema(
        "acme",
        [
            TemplateApp(data=AppSpec(service_name="ghost", source=ImageSource(image="ghost:5"))),
            PostgresSpec(service_name="db"),
            RedisSpec(service_name="cache", password="cache-password"),
            ComposeSpec(service_name="stack", source=InlineComposeSource(content="services: {}")),
        ],
        name="Ghost",
    )

    assert bodies(emulator, "templates.createFromSchema") == [
        {
            "name": "Ghost",
            "projectName": "acme",
            "schema": {
                "services": [
                    {
                        "type": "app",
                        "data": {
                            "serviceName": "ghost",
                            "source": {"type": "image", "image": "ghost:5"},
                        },
                    },
                    {"type": "postgres", "data": {"serviceName": "db"}},
                    {
                        "type": "redis",
                        "data": {"serviceName": "cache", "password": "cache-password"},
                    },
                    {
                        "type": "compose",
                        "data": {
                            "serviceName": "stack",
                            "source": {"type": "inline", "content": "services: {}"},
                        },
                    },
                ]
            },
        }
    ]
    services = (await client.inspect_project("acme")).services
    assert [(s.name, s.type) for s in services] == [
        ("ghost", "app"),
        ("db", "postgres"),
        ("cache", "redis"),
        ("stack", "compose"),
    ]
    assert (await client.list_actions("acme", "ghost"))[0].status == "pending"


async def test_create_from_schema_with_an_existing_name_creates_nothing(
    client: EasypanelClient, emulator: RunningEmulator
) -> None:
    await client.create_project("acme")
    await client.create_database("acme", RedisSpec(service_name="cache"))

    with pytest.raises(EasypanelResourceExists):
        await client.create_from_schema(
            "acme", [PostgresSpec(service_name="db"), RedisSpec(service_name="cache")]
        )

    assert sorted(emulator.controller.snapshot()["services"]) == ["acme/cache"]


async def test_server_version(client: EasypanelClient, dialect: str) -> None:
    assert await client.server_version() == {"orpc": "2.32.2", "trpc": "2.23.0"}[dialect]


async def test_capacity_and_nodes_report_the_server_size_and_use(
    client: EasypanelClient, emulator: RunningEmulator, dialect: str
) -> None:
    idle = await client.get_capacity()
    await _running_app(client, emulator)
    busy = await client.get_capacity()
    nodes = await client.list_nodes()

    # The emulated node: 8 cores, 32 GB of memory, 200 GB of disk.
    assert (busy.cpus, busy.memory_total_bytes, busy.disk_total_bytes) == (
        8,
        32 * 1024**3,
        200 * 1024**3,
    )
    assert (busy.memory_used_bytes or 0) > (idle.memory_used_bytes or 0) > 0
    assert [(n.role, n.state, n.cpus, n.memory_bytes) for n in nodes] == [
        ("manager", "ready", 8.0, 32 * 1024**3)
    ]
    first = "metrics.getSystemStats" if dialect == "orpc" else "monitor.getSystemStats"
    assert bodies(emulator, first)
