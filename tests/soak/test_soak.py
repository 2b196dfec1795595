"""Soak: many tenants change their services at once while Easypanel fails, answers after acting,
stalls, and a worker process is killed and replaced. Bounded in requests and time, loopback
only. In the end every operation is final, Easypanel holds what each service's record wants,
and no period was paid twice.

The figures (operations, faults, time to settle, mismatches) are printed for the closing note.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.operations.service import Runner
from skypanel.servers.clients import ClientPool
from skypanel.wiring import runner_for
from skypanel.worker.run import open_job_queue
from skypanel.worker.tasks import defer_delivery
from tests.support import Account, configure_server, credit, make_plan, register

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
TENANTS = 6
ACTIONS = 14
SETTLE_SECONDS = 120.0
LEASE_SECONDS = 5.0
ACTIONS_WEIGHTS = {"deploy": 3, "stop": 2, "start": 2, "restart": 1, "env": 2, "delete": 1}


@dataclass
class Figures:
    requests: int = 0
    accepted: int = 0
    refused: int = 0
    kills: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    """A real `skypanel worker` process on the test database."""
    assert settings.database_url is not None
    env = {
        **os.environ,
        "SKYPANEL_DATABASE_URL": settings.database_url,
        "SKYPANEL_OPERATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "SKYPANEL_LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "skypanel", "worker", "--concurrency", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def workers(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture
async def panel(
    settings: Settings, engine: AsyncEngine, committed: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The panel as served: requests hand their operations to the workers' job queue."""
    served = settings.model_copy(update={"operation_lease_seconds": LEASE_SECONDS})
    app = create_app(served)
    async with open_job_queue(served):
        attach_database(app, engine, committed, defer_delivery)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://skypanel.test", timeout=30
        ) as http:
            yield http
        await app.state.clients.aclose()


async def _tenant(
    panel: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession], plan: str
) -> Account:
    account = await register(panel)
    await credit(committed, account.organization_id, 100_000)
    subscribed = await panel.post(
        "/api/containers/subscription", headers=account.headers, json={"planId": plan}
    )
    assert subscribed.status_code == 201, subscribed.text
    return account


async def _drive(panel: httpx.AsyncClient, account: Account, seed: int, figures: Figures) -> None:
    """A tenant's random sequence of changes against its own project."""
    chooser = random.Random(seed)
    me = (await panel.get("/api/containers/projects", headers=account.headers)).json()
    services = f"/api/containers/projects/{me[0]['projectName']}/services"
    names = [f"app-{n}" for n in range(3)]
    for step in range(ACTIONS):
        action = chooser.choices(list(ACTIONS_WEIGHTS), weights=list(ACTIONS_WEIGHTS.values()))[0]
        name = chooser.choice(names)
        if action == "deploy":
            response = await panel.post(
                f"{services}/app",
                headers=account.headers,
                json={"serviceName": name, "source": {"type": "image", "image": "nginx:1.27"}},
            )
        elif action == "delete":
            response = await panel.delete(f"{services}/{name}", headers=account.headers)
        elif action == "env":
            response = await panel.put(
                f"{services}/{name}/env",
                headers=account.headers,
                json={"env": {"STEP": str(step), "SEED": str(seed)}},
            )
        else:
            response = await panel.post(f"{services}/{name}/{action}", headers=account.headers)
        figures.requests += 1
        assert response.status_code < 500, response.text
        if response.status_code == 202:
            figures.accepted += 1
        else:
            figures.refused += 1
        await asyncio.sleep(chooser.uniform(0.1, 0.6))


async def _started(
    committed: async_sessionmaker[AsyncSession], process: subprocess.Popen[bytes], known: int
) -> None:
    """Wait until the worker process has registered with the job queue."""
    for _ in range(300):
        assert process.poll() is None, "the worker process exited"
        async with committed() as session:
            registered = await session.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        if int(registered) > known:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the worker process did not start")


async def _unsettled(committed: async_sessionmaker[AsyncSession]) -> int:
    async with committed() as session:
        value = await session.scalar(
            text("SELECT count(*) FROM easypanel_operations WHERE status IN ('pending', 'running')")
        )
    return int(value)


async def _settle(
    committed: async_sessionmaker[AsyncSession], runner: Runner, easypanel: RunningEmulator
) -> float:
    """Sweep as a worker would, moving time on so backoffs expire, until every operation is
    final; Easypanel's deploys finish as its clock moves. Returns the seconds it took."""
    started = time.monotonic()
    offset = 0.0
    while await _unsettled(committed):
        assert time.monotonic() - started < SETTLE_SECONDS, "operations did not settle in time"
        offset += 120.0
        moved = datetime.now(UTC) + timedelta(seconds=offset)
        previous = clock.set_source(lambda moved=moved: moved)
        try:
            await runner.run_due()
        finally:
            clock.set_source(previous)
        easypanel.controller.advance(30)
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def _mismatches(
    committed: async_sessionmaker[AsyncSession], easypanel: RunningEmulator
) -> list[str]:
    """Each service record against Easypanel: a running one has its task, a stopped one none,
    a deleted one is gone; every operation is final."""
    easypanel.controller.advance(60)
    found: list[str] = []
    async with committed() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT p.easypanel_project_name AS project, s.easypanel_service_name AS name,"
                    " s.status, s.desired_state, s.last_error"
                    " FROM container_services s JOIN container_projects p ON p.id = s.project_id"
                )
            )
        ).all()
        kept = {(row.project, row.name) for row in rows}
    for row in rows:
        service = easypanel.controller.service(row.project, row.name)
        if row.status == "failed":
            found.append(f"{row.project}/{row.name} failed: {row.last_error}")
        elif service is None:
            found.append(f"{row.project}/{row.name} is missing on Easypanel")
        else:
            desired, _ = easypanel.controller.tasks(row.project, row.name)
            want = 1 if row.desired_state == "running" else 0
            if desired != want or row.status not in ("running", "stopped", "deploying"):
                found.append(f"{row.project}/{row.name}: {row.status}, {desired} task(s) wanted")
    for key in easypanel.controller.snapshot()["services"]:
        project, name = key.split("/", 1)
        if (project, name) not in kept:
            found.append(f"{key} is on Easypanel without a record")
    return found


async def _periods_paid_twice(committed: async_sessionmaker[AsyncSession]) -> int:
    async with committed() as session:
        value = await session.scalar(
            text(
                "SELECT count(*) FROM container_billing_cycles a JOIN container_billing_cycles b"
                " ON a.subscription_id = b.subscription_id AND a.id < b.id"
                " AND a.status IN ('billed', 'refunded') AND b.status IN ('billed', 'refunded')"
                " AND a.billing_period_start < coalesce(b.effective_end, b.billing_period_end)"
                " AND b.billing_period_start < coalesce(a.effective_end, a.billing_period_end)"
            )
        )
    return int(value)


async def test_tenants_churn_through_faults_and_a_killed_worker_and_everything_settles(
    panel: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    settings: Settings,
    easypanel: RunningEmulator,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    plan = str(await make_plan(committed, cpu="8", memory_gb="16", storage_gb=100, containers=5))
    tenants = [await _tenant(panel, committed, plan) for _ in range(TENANTS)]
    figures = Figures()

    workers.append(_worker(settings))
    await _started(committed, workers[0], 0)
    controller = easypanel.controller
    controller.set_failure_rate(0.15, status=503, seed=11)
    controller.set_latency(0.02)
    for procedure in ("services.app.deployService", "services.app.updateEnv"):
        controller.fail(procedure, times=3, status=504, after_effect=True)
    controller.hang("services.app.stopService", times=2, seconds=3.0)
    traffic = asyncio.gather(
        *(_drive(panel, tenant, seed, figures) for seed, tenant in enumerate(tenants))
    )
    await asyncio.sleep(3.0)
    workers[0].send_signal(signal.SIGKILL)
    figures.kills += 1
    workers.append(_worker(settings))
    await _started(committed, workers[1], 1)
    await traffic
    await asyncio.sleep(3.0)
    controller.clear_faults()

    clients = ClientPool(committed)
    runner = runner_for(committed, clients, settings)
    settle_seconds = await _settle(committed, runner, easypanel)
    await clients.aclose()
    mismatches = await _mismatches(committed, easypanel)
    calls = controller.requests()
    faults = len([call for call in calls if (call.status or 0) >= 500])
    async with committed() as session:
        for status, number in (
            await session.execute(
                text("SELECT status, count(*) FROM easypanel_operations GROUP BY status")
            )
        ).all():
            figures.by_status[status] = int(number)
    report = (
        f"soak: {figures.requests} requests ({figures.accepted} accepted, {figures.refused}"
        f" refused), operations {figures.by_status}, {len(calls)} Easypanel calls of which {faults}"
        f" failed,"
        f" {figures.kills} worker killed, settled in {settle_seconds:.1f} s,"
        f" mismatches: {len(mismatches)}"
    )
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "soak.txt").write_text(report + "\n")
    print(f"\n{report}")  # noqa: T201 (shown with -s; the file keeps it)
    assert mismatches == []
    assert set(figures.by_status) <= {"succeeded", "failed", "cancelled"}
    assert await _periods_paid_twice(committed) == 0
    assert figures.accepted > TENANTS
