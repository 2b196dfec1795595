"""The panel across processes: 3 web processes and 3 workers (real `skypanel` processes) share
one PostgreSQL and one Redis in front of 3 emulated Easypanel servers. Customers and an admin
drive traffic round-robin over the web processes while one worker and one web process are
SIGKILLed and two billing runs race each other. Then: every subscription was billed exactly once
per period, every operation is final and the servers hold what the database says, a change made
through one web process is seen at once through the others (the cache is shared), and no
request failed except those in flight on the killed web process.

Bounded (well under two minutes on two cores), loopback only. The figures are printed and kept
in test-output/multiprocess.txt for the closing note.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator, running_emulator
from skypanel.servers.clients import ClientPool
from skypanel.wiring import runner_for
from tests.fleet.processes import (
    Fleet,
    Web,
    environment,
    start_web,
    start_worker,
    stop_all,
    wait_ready,
)
from tests.http.redis_doubles import real_redis_url
from tests.serving import empty_all_tables
from tests.support import PASSWORD, make_plan

pytestmark = pytest.mark.redis

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
REPORT = OUTPUT / "multiprocess.txt"
LOGS = OUTPUT / "multiprocess-logs"
TENANTS = 20
PRICE_CENTS = 1000
CREDIT_CENTS = 5000
SETTLE_SECONDS = 45.0
SWEEP_SECONDS = 5.0
BOUND_SECONDS = 110.0
IMAGE = {"type": "image", "image": "nginx:1.27"}


@dataclass
class Tenant:
    headers: dict[str, str]
    organization_id: str
    project: str


@contextmanager
def _emulators() -> Iterator[list[RunningEmulator]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(running_emulator(token=f"fleet-{n}-token", deploy_delay=0.5))
            for n in range(3)
        ]


def _register(fleet: Fleet, email: str) -> tuple[dict[str, str], str]:
    body = {"email": email, "password": PASSWORD, "name": "Fleet Customer"}
    registered = fleet.call("POST", "/api/auth/register", {201}, json=body).json()
    return {"Authorization": f"Bearer {registered['accessToken']}"}, registered["organization"][
        "id"
    ]


def _onboard(fleet: Fleet, admin: dict[str, str], plan: uuid.UUID, n: int) -> Tenant:
    """Register, get credited by the admin, subscribe (the subscription makes a project)."""
    headers, organization = _register(fleet, f"fleet-{n}-{uuid.uuid4().hex[:6]}@example.com")
    fleet.call(
        "POST",
        f"/api/admin/organizations/{organization}/wallet/adjustments",
        {201},
        headers={**admin, "Idempotency-Key": f"fleet-credit-{organization}"},
        json={"amount": f"{CREDIT_CENTS / 100:.2f}", "description": "Fleet test credit"},
    )
    fleet.call(
        "POST", "/api/containers/subscription", {201}, headers=headers, json={"planId": str(plan)}
    )
    [project] = fleet.call("GET", "/api/containers/projects", {200}, headers=headers).json()
    return Tenant(headers, organization, project["projectName"])


def _churn(fleet: Fleet, admin: dict[str, str], tenant: Tenant) -> None:
    """A customer's session: deploy an app, list, stop, start, add a project; an admin look."""
    services = f"/api/containers/projects/{tenant.project}/services"
    headers = tenant.headers
    app = {"serviceName": "web", "source": IMAGE}
    fleet.call("POST", f"{services}/app", {202}, headers=headers, json=app)
    fleet.call("GET", services, {200}, headers=headers)
    deadline = time.monotonic() + 30
    while (
        fleet.call("GET", f"{services}/web", {200}, headers=headers).json()["status"] == "creating"
    ):
        assert time.monotonic() < deadline, "the app was still being created after 30 s"
        time.sleep(0.3)
    fleet.call("POST", f"{services}/web/stop", {202}, headers=headers)
    fleet.call("GET", "/api/containers/projects", {200}, headers=headers)
    fleet.call("POST", f"{services}/web/start", {202}, headers=headers)
    fleet.call("GET", f"{services}/web", {200}, headers=headers)
    fleet.call("GET", "/api/admin/organizations", {200}, headers=admin)
    project = {"projectName": "side"}
    fleet.call("POST", "/api/containers/projects", {202}, headers=headers, json=project)
    fleet.call("GET", "/api/containers/projects", {200}, headers=headers)
    fleet.call("GET", "/api/containers/admin/servers", {200}, headers=admin)
    fleet.call("GET", "/api/wallet", {200}, headers=headers)


def _all(work: Callable[[int], Any], count: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(work, range(count)))


def _billing_run(env: dict[str, str], at: datetime) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "skypanel", "billing", "run", "--now", at.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _charged(run: subprocess.Popen[bytes]) -> int:
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 0, out
    line = out.decode().strip().splitlines()[-1]
    assert line.startswith("Charged "), line
    return int(line.split()[1].rstrip(","))


async def _scalar(sessions: async_sessionmaker[AsyncSession], sql: str) -> Any:
    async with sessions() as session:
        return await session.scalar(text(sql))


async def _counts(sessions: async_sessionmaker[AsyncSession], sql: str) -> dict[str, int]:
    async with sessions() as session:
        return {str(key): int(n) for key, n in (await session.execute(text(sql))).all()}


async def _workers_registered(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    for _ in range(400):
        if int(await _scalar(sessions, "SELECT count(*) FROM procrastinate_workers")) >= count:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{count} workers did not register with the job queue")


class Sweeper:
    """Stands in for the workers' `deliver-operations` task (every 15 s), every few seconds: it
    takes up what the killed worker held (when its lease runs out) and what the killed web
    process committed but never queued. The live workers deliver everything else."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.clients = ClientPool(sessions)
        self.runner = runner_for(sessions, self.clients, settings)
        self.delivered = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sweeper:
        self._task = asyncio.create_task(self._sweep())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.clients.aclose()

    async def _sweep(self) -> None:
        while True:
            self.delivered += await self.runner.run_due()
            await asyncio.sleep(SWEEP_SECONDS)

    async def settled(self) -> float:
        """Seconds until every operation is final."""
        started = time.monotonic()
        unsettled = (
            "SELECT count(*) FROM easypanel_operations WHERE status IN ('pending', 'running')"
        )
        while int(await _scalar(self.sessions, unsettled)):
            assert time.monotonic() - started < SETTLE_SECONDS, "operations did not settle"
            await asyncio.sleep(0.2)
        return time.monotonic() - started


async def _server_mismatches(
    sessions: async_sessionmaker[AsyncSession], emulators: list[RunningEmulator]
) -> list[str]:
    """Each server holds exactly the services the database places on it, each wanting as many
    tasks as its record's desired state."""
    by_url = {emulator.base_url: emulator for emulator in emulators}
    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.api_url, p.easypanel_project_name AS project,"
                    " s.easypanel_service_name AS name, s.desired_state, s.status"
                    " FROM container_services s JOIN container_projects p ON p.id = s.project_id"
                    " JOIN container_subscriptions sub ON sub.id = p.subscription_id"
                    " JOIN easypanel_config c ON c.id = sub.server_id"
                )
            )
        ).all()
    found = [] if len(rows) == TENANTS else [f"{len(rows)} services, {TENANTS} expected"]
    for row in rows:
        controller = by_url[row.api_url].controller
        if row.status == "failed" or controller.service(row.project, row.name) is None:
            found.append(f"{row.project}/{row.name} on {row.api_url}: {row.status}")
            continue
        desired, _ = controller.tasks(row.project, row.name)
        if desired != (1 if row.desired_state == "running" else 0):
            found.append(f"{row.project}/{row.name}: {desired} task(s), {row.desired_state}")
    recorded = {(row.api_url, row.project, row.name) for row in rows}
    for emulator in emulators:
        for key in emulator.controller.snapshot()["services"]:
            project, name = key.split("/", 1)
            if (emulator.base_url, project, name) not in recorded:
                found.append(f"{key} is on {emulator.base_url} without a record")
    return found


async def _billing_mismatches(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Each subscription billed for exactly two periods (subscribe, renewal), each once; each
    ledger sums to its balance, with the credit and the two debits only."""
    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT sub.organization_id, sub.periods_billed, w.balance_cents,"
                    " (SELECT count(*) FROM container_billing_cycles c"
                    "   WHERE c.subscription_id = sub.id AND c.status = 'billed') AS billed,"
                    " (SELECT count(DISTINCT c.billing_period_start) FROM"
                    "   container_billing_cycles c WHERE c.subscription_id = sub.id"
                    "   AND c.status = 'billed') AS periods,"
                    " (SELECT coalesce(sum(t.amount_cents), 0) FROM payment_transactions t"
                    "   WHERE t.wallet_id = w.id) AS ledger,"
                    " (SELECT count(*) FROM payment_transactions t"
                    "   WHERE t.wallet_id = w.id AND t.amount_cents < 0) AS debits"
                    " FROM container_subscriptions sub"
                    " JOIN wallets w ON w.organization_id = sub.organization_id"
                )
            )
        ).all()
    expected = (2, 2, 2, CREDIT_CENTS - 2 * PRICE_CENTS, CREDIT_CENTS - 2 * PRICE_CENTS, 2)
    seen = {
        row.organization_id: (
            row.periods_billed,
            row.billed,
            row.periods,
            row.balance_cents,
            row.ledger,
            row.debits,
        )
        for row in rows
    }
    found = [f"{org}: {got}, {expected} expected" for org, got in seen.items() if got != expected]
    if len(rows) != TENANTS:
        found.append(f"{len(rows)} subscriptions, {TENANTS} expected")
    return found


def _cache_misses(fleet: Fleet, tenants: list[Tenant]) -> list[str]:
    """A project created through one web process shows at once in the cached project list read
    through each of the others (whose caches were filled just before)."""
    webs: list[Web] = fleet.live()
    found: list[str] = []
    for n, tenant in enumerate(tenants):
        writer, *readers = webs[n % 3 :] + webs[: n % 3]
        for reader in readers * 2:
            fleet.call("GET", "/api/containers/projects", {200}, via=reader, headers=tenant.headers)
        body = {"projectName": "late"}
        fleet.call(
            "POST", "/api/containers/projects", {202}, via=writer, headers=tenant.headers, json=body
        )
        for reader in readers:
            listed = fleet.call(
                "GET", "/api/containers/projects", {200}, via=reader, headers=tenant.headers
            ).json()
            if "late" not in {project["projectName"] for project in listed}:
                found.append(f"{reader.url} did not see the project made through {writer.url}")
    return found


async def _admin(fleet: Fleet, sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """The first account, made an administrator, signed in again for an admin token."""
    email = f"fleet-admin-{uuid.uuid4().hex[:6]}@example.com"
    _register(fleet, email)
    async with sessions() as session:
        await session.execute(text("UPDATE users SET role = 'admin'"))
        await session.commit()
    login = {"email": email, "password": PASSWORD}
    token = fleet.call("POST", "/api/auth/login", {200}, json=login).json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def _add_servers(fleet: Fleet, admin: dict[str, str], emulators: list[RunningEmulator]) -> None:
    for n, emulator in enumerate(emulators):
        server = {
            "name": f"node-{n}",
            "apiUrl": emulator.base_url,
            "apiKey": emulator.token,
            "dialect": "orpc",
        }
        fleet.call("POST", "/api/containers/admin/servers", {201}, headers=admin, json=server)


@dataclass
class Kills:
    """What happens mid-run: once `after` requests were sent, a worker and a web process are
    SIGKILLed, two billing runs start side by side and a new web process replaces the dead."""

    env: dict[str, str]
    fleet: Fleet
    worker: subprocess.Popen[bytes]
    web: Web
    processes: list[subprocess.Popen[bytes]]
    after: int
    renew_at: datetime
    in_flight: int = 0
    sent_before: int = 0

    def run(self) -> tuple[int, int]:
        deadline = time.monotonic() + 30
        while self.fleet.figures.sent < self.after and time.monotonic() < deadline:
            time.sleep(0.02)
        self.sent_before = self.fleet.figures.sent
        self.worker.kill()
        self.worker.wait(timeout=10)
        self.fleet.figures.kills += 1
        self.in_flight = self.fleet.kill(self.web)
        runs = [_billing_run(self.env, self.renew_at) for _ in range(2)]
        self.processes.extend(runs)
        replacement = start_web(self.env, LOGS)
        self.processes.append(replacement.process)
        wait_ready(replacement)
        self.fleet.add(replacement)
        first, second = (_charged(run) for run in runs)
        return first, second


async def test_three_web_processes_and_three_workers_bill_once_and_settle_through_kills(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    redis_url = await real_redis_url()
    assert settings.database_url is not None
    await empty_all_tables(settings.database_url)
    shutil.rmtree(LOGS, ignore_errors=True)
    started = time.monotonic()
    env = environment(settings.database_url, redis_url)
    processes: list[subprocess.Popen[bytes]] = []
    fleet: Fleet | None = None
    with _emulators() as emulators:
        try:
            webs = [start_web(env, LOGS) for _ in range(3)]
            workers = [start_worker(env, LOGS, n) for n in range(3)]
            processes += [web.process for web in webs] + workers
            for web in webs:
                await asyncio.to_thread(wait_ready, web)
            await _workers_registered(committed, 3)
            fleet = Fleet(webs)
            admin = await _admin(fleet, committed)
            _add_servers(fleet, admin, emulators)
            plan = await make_plan(
                committed, price_cents=PRICE_CENTS, cpu="1", memory_gb="2", storage_gb=10
            )
            async with Sweeper(committed, settings) as sweeper:
                tenants: list[Tenant] = await asyncio.to_thread(
                    _all, lambda n: _onboard(fleet, admin, plan, n), TENANTS
                )
                period_end = "SELECT max(current_period_end) FROM container_subscriptions"
                renew_at = await _scalar(committed, period_end) + timedelta(hours=1)
                kills = Kills(
                    env,
                    fleet,
                    workers[0],
                    webs[0],
                    processes,
                    fleet.figures.sent + 5 * TENANTS,
                    renew_at,
                )
                with ThreadPoolExecutor(max_workers=1) as killer:
                    charged = killer.submit(kills.run)
                    await asyncio.to_thread(
                        _all, lambda n: _churn(fleet, admin, tenants[n]), TENANTS
                    )
                    runs = await asyncio.to_thread(charged.result, 60)
                cache_misses = await asyncio.to_thread(_cache_misses, fleet, tenants[:6])
                settle_seconds = await sweeper.settled()
            await asyncio.sleep(1.0)  # the emulators' deploy delay
            server_mismatches = await _server_mismatches(committed, emulators)
            billing_mismatches = await _billing_mismatches(committed)
            by_status = await _counts(
                committed, "SELECT status, count(*) FROM easypanel_operations GROUP BY status"
            )
            per_server = await _counts(
                committed, "SELECT server_id, count(*) FROM container_subscriptions GROUP BY 1"
            )
            again = "SELECT count(*) FROM easypanel_operations WHERE attempts > 1"
            delivered_again = int(await _scalar(committed, again))
        finally:
            if fleet is not None:
                fleet.close()
            stop_all(processes)

    figures = fleet.figures
    elapsed = time.monotonic() - started
    report = (
        f"multiprocess: 3 web + 3 workers, 3 servers, {TENANTS} customers;"
        f" {figures.sent} requests sent, {figures.succeeded} succeeded,"
        f" {figures.lost_in_flight} lost in flight on the killed web process"
        f" ({kills.in_flight} in flight at the kill, each sent again to a live one),"
        f" {figures.kills} kills (1 worker, 1 web) after request {kills.sent_before},"
        f" billing runs charged {runs}"
        f" ({sum(runs)} renewals), operations {by_status} ({sweeper.delivered} taken up by"
        f" the sweep, {delivered_again} delivered more than once after an interrupted"
        f" attempt), subscriptions per server {sorted(per_server.values())},"
        f" settled in {settle_seconds:.1f} s after the traffic,"
        f" server mismatches: {len(server_mismatches)}, billing mismatches:"
        f" {len(billing_mismatches)}, cache misses: {len(cache_misses)},"
        f" problems: {len(figures.problems)}, {elapsed:.1f} s in all"
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(report + "\n")
    print(f"\n{report}")  # noqa: T201 (shown with -s; the file keeps it)
    assert figures.problems == []
    assert kills.sent_before < figures.sent - 2 * TENANTS  # mid-run: much traffic came after
    assert billing_mismatches == []
    assert sum(runs) == TENANTS
    assert len(per_server) == 3
    assert by_status == {"succeeded": by_status.get("succeeded", 0)}
    assert server_mismatches == []
    assert cache_misses == []
    assert elapsed < BOUND_SECONDS
