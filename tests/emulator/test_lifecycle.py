"""The simulated Swarm: actions, task counts, logs and metrics move with the emulator's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from skypanel.emulator import RunningEmulator
from tests.emulator._support import call
from tests.emulator.conftest import DEPLOY_DELAY

REF = {"projectName": "acme", "serviceName": "web"}


async def _app(http: httpx.AsyncClient, emulator: RunningEmulator, *, replicas: int = 1) -> None:
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    source = {"type": "image", "image": "nginx"}
    await call(
        http,
        emulator,
        "services.app.createService",
        {**REF, "source": source, "deploy": {"replicas": replicas}},
    )


async def test_deploy_goes_pending_then_done(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    await _app(http, emulator, replicas=2)

    pending = await call(http, emulator, "actions.listActions", REF)
    early = emulator.controller.tasks("acme", "web")
    emulator.controller.advance(DEPLOY_DELAY - 0.5)
    still = await call(http, emulator, "actions.listActions", REF)
    emulator.controller.advance(0.5)
    done = await call(http, emulator, "actions.getAction", {"id": pending[0]["id"]})

    assert [(a["type"], a["status"]) for a in pending] == [("deployment", "pending")]
    assert early == (2, 0)
    assert still[0]["status"] == "pending"
    assert done["status"] == "done"
    created = datetime.fromisoformat(done["createdAt"])
    assert datetime.fromisoformat(done["updatedAt"]) - created == timedelta(seconds=DEPLOY_DELAY)
    assert done["log"].startswith("Deploying acme_web\nPulling nginx\n")
    assert done["log"].endswith("Updating service acme_web\nService updated.\nDone.\n")
    assert emulator.controller.tasks("acme", "web") == (2, 2)


async def test_stop_start_and_task_stats(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    await _app(http, emulator)
    emulator.controller.advance(DEPLOY_DELAY)
    stats = (
        "monitorOld.getDockerTaskStats"
        if emulator.dialect == "orpc"
        else "monitor.getDockerTaskStats"
    )

    running = await call(http, emulator, stats)
    await call(http, emulator, "services.app.stopService", REF)
    stopped = await call(http, emulator, stats)
    await call(http, emulator, "services.app.startService", REF)
    starting = await call(http, emulator, stats)
    emulator.controller.advance(DEPLOY_DELAY)
    started = await call(http, emulator, stats)

    assert running == {"acme_web": {"actual": 1, "desired": 1}}
    assert stopped == {"acme_web": {"actual": 0, "desired": 0}}
    assert starting == {"acme_web": {"actual": 0, "desired": 1}}
    assert started == {"acme_web": {"actual": 1, "desired": 1}}


async def test_databases_run_at_once_and_disable_stops_them(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    await call(http, emulator, "services.postgres.createService", {**REF, "serviceName": "db"})
    emulator.controller.advance(DEPLOY_DELAY)
    running = emulator.controller.tasks("acme", "db")
    await call(http, emulator, "services.postgres.disableService", {**REF, "serviceName": "db"})

    assert running == (1, 1)
    assert emulator.controller.tasks("acme", "db") == (0, 0)
    assert await call(http, emulator, "actions.listActions", {}) == []


async def test_running_services_write_logs(
    orpc: RunningEmulator, orpc_http: httpx.AsyncClient
) -> None:
    await _app(orpc_http, orpc)
    orpc.controller.advance(DEPLOY_DELAY + 10)
    logs = await call(orpc_http, orpc, "logs.queryServiceLogs", {**REF, "limit": 1000})
    stderr = await call(orpc_http, orpc, "logs.queryServiceLogs", {**REF, "stream": "stderr"})
    await call(orpc_http, orpc, "services.app.stopService", REF)
    orpc.controller.advance(30)
    after_stop = await call(orpc_http, orpc, "logs.queryServiceLogs", {**REF, "limit": 1000})

    lines = [value for entry in logs["entries"] for value in entry["values"]]
    assert len(lines) == 11
    assert [text for _, text in lines if text == "Service started"] == ["Service started"]
    assert all(ts.isdigit() and len(ts) == 19 for ts, _ in lines)
    assert {entry["stream"]["stream"] for entry in stderr["entries"]} <= {"stderr"}
    assert sum(len(entry["values"]) for entry in after_stop["entries"]) == 11


async def test_stats_move_with_time(orpc: RunningEmulator, orpc_http: httpx.AsyncClient) -> None:
    await _app(orpc_http, orpc)
    before = await call(orpc_http, orpc, "metrics.getServiceStats", REF)
    orpc.controller.advance(DEPLOY_DELAY)
    hourly = {**REF, "range": 3600, "step": "60s"}
    first = await call(orpc_http, orpc, "metrics.getServiceStats", hourly)
    orpc.controller.advance(45)
    second = await call(orpc_http, orpc, "metrics.getServiceStats", REF)
    everything = await call(orpc_http, orpc, "metrics.getAllServicesStats")

    assert before is None
    assert len(first["cpu"]) == 60
    assert first["cpu"][-1][0] - first["cpu"][-2][0] == 60
    assert first["cpu"][-1][1] != second["cpu"][-1][1]
    assert [(s["projectName"], s["serviceName"]) for s in everything] == [("acme", "web")]


async def test_service_error_and_recovery(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    await _app(http, emulator)
    emulator.controller.advance(DEPLOY_DELAY)

    emulator.controller.set_service_error("acme", "web", "OOMKilled")
    failing = await call(http, emulator, "services.common.getServiceError", REF)
    crashed = emulator.controller.tasks("acme", "web")
    emulator.controller.set_service_error("acme", "web", None)
    healthy = await call(http, emulator, "services.common.getServiceError", REF)
    restarting = emulator.controller.tasks("acme", "web")
    emulator.controller.advance(DEPLOY_DELAY)

    assert failing == {"message": "OOMKilled"}
    assert crashed == (1, 0)
    assert healthy is None
    assert restarting == (1, 0)  # Swarm's next start of the task takes its time
    assert emulator.controller.tasks("acme", "web") == (1, 1)
