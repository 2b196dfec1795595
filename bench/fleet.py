"""A fleet for the reconciliation benchmark: emulated Easypanel servers in processes of their own,
loaded in one request each (`/__emulator/seed`), and the same projects and services recorded in a
benchmark database with set-based SQL, with drift placed by rule so that what a run must find is
known in advance.

Each server holds organizations of 4 projects x 5 services (the fifth a PostgreSQL database, the
others image apps with a domain). Organization `n` of a server carries drift when:
n % 50 == 1 its p1/s1 is gone from Easypanel (found missing); == 2 Easypanel has an app `rogue` in
p1 with no record (imported); == 3 its p1/s2 was made privileged (stopped); n % 200 == 4 its p1/s3
was stopped for that earlier and runs again (stopped again); == 5 likewise but still stopped
(nothing to do); n % 500 == 6 Easypanel has a project `<slug>-stray` (reported as unknown).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text

from skypanel.emulator import create_emulator_app
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.models import EasypanelServer
from skypanel.reconcile._drift import SAFETY_STOP, stop_reason
from skypanel.servers.clients import api_key_place
from skypanel.templates.safety import Violation

PROJECTS, SERVICES = 4, 5
QUIET_LOGS = 86_400.0
"""Seconds between the log lines a running service prints: with 20,000 services the emulator
would otherwise spend its time writing logs nobody reads here."""
PRIVILEGED = {"deploy": {"privileged": True}}
REASON = stop_reason([Violation("s3", "deploy.privileged", "privileged mode")])


@dataclass(frozen=True, slots=True)
class Emulated:
    url: str
    token: str


@dataclass(frozen=True, slots=True)
class Layout:
    run: str
    servers: int
    services: int
    """Per server."""

    @property
    def organizations(self) -> int:
        return self.services // (PROJECTS * SERVICES)

    def slug(self, server: int, n: int) -> str:
        return f"r{self.run}-{server}-{n}"


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    stopped_new: list[str] = field(default_factory=list)
    again: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def stopped(self) -> list[str]:
        return sorted(self.stopped_new + self.again)

    @property
    def marked(self) -> list[str]:
        return self.again + self.kept

    @property
    def stopped_tasks(self) -> set[str]:
        return {where.replace("/", "_") for where in self.stopped + self.kept}

    def summary(self) -> str:
        return (
            f"{len(self.missing)} missing, {len(self.imported)} created behind SkyPanel's back,"
            f" {len(self.stopped_new)} made unsafe, {len(self.again)} started again after a"
            f" safety stop ({len(self.kept)} still stopped), {len(self.unknown)} unknown projects"
        )


def _serve(port: int, token: str) -> None:
    app, _ = create_emulator_app(token=token, log_interval=QUIET_LOGS)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def emulators(count: int) -> Iterator[list[Emulated]]:
    """`count` emulators, each a process of its own on a loopback port."""
    spawn = get_context("spawn")
    started = []
    try:
        for _ in range(count):
            port, token = _free_port(), uuid.uuid4().hex
            process = spawn.Process(target=_serve, args=(port, token), daemon=True)
            process.start()
            started.append((process, Emulated(f"http://127.0.0.1:{port}", token)))
        for process, emulated in started:
            _wait(process, emulated)
        yield [emulated for _, emulated in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.join(timeout=10)


def _wait(process: Any, emulated: Emulated) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.is_alive():
        try:
            answer = httpx.get(f"{emulated.url}/__emulator/faults", headers=_auth(emulated))
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the emulator at {emulated.url} did not start")


def _auth(emulated: Emulated) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulated.token}"}


def _app(name: str, *, domain: bool = True) -> dict[str, Any]:
    app: dict[str, Any] = {
        "type": "app",
        "serviceName": name,
        "source": {"type": "image", "image": "nginx:1.27"},
        "env": "PORT=80\nLOG_LEVEL=info",
        "resources": {
            "cpuLimit": 0.25,
            "cpuReservation": 0,
            "memoryLimit": 512,
            "memoryReservation": 0,
        },
    }
    return app | ({"domains": [{"host": "$(EASYPANEL_DOMAIN)", "port": 80}]} if domain else {})


def _seed(layout: Layout, server: int, drift: Drift) -> dict[str, Any]:
    """One server's world, and (added to `drift`) what a reconciliation must find there."""
    projects = []
    for n in range(1, layout.organizations + 1):
        slug = layout.slug(server, n)
        for p in range(1, PROJECTS + 1):
            name, services = f"{slug}-p{p}", []
            for k in range(1, SERVICES + 1):
                where = f"{name}/s{k}"
                entry = _app(f"s{k}") if k < SERVICES else {"type": "postgres", "serviceName": "s5"}
                if p == 1 and k == 1 and n % 50 == 1:
                    drift.missing.append(where)
                    continue
                if p == 1 and k == 2 and n % 50 == 3:
                    drift.stopped_new.append(where)
                    entry["edit"] = PRIVILEGED
                if p == 1 and k == 3 and n % 200 in (4, 5):
                    (drift.again if n % 200 == 4 else drift.kept).append(where)
                    entry |= {"edit": PRIVILEGED, "running": n % 200 == 4}
                services.append(entry)
            if p == 1 and n % 50 == 2:
                drift.imported.append(f"{name}/rogue")
                services.append(_app("rogue", domain=False))
            projects.append({"name": name, "services": services})
        if n % 500 == 6:
            drift.unknown.append(f"{slug}-stray")
            projects.append({"name": f"{slug}-stray", "services": []})
    return {"projects": projects}


async def seed_emulators(layout: Layout, fleet: list[Emulated]) -> Drift:
    """Every emulator loaded (side by side); returns the drift they hold."""
    drift = Drift()

    async def one(http: httpx.AsyncClient, server: int, emulated: Emulated) -> None:
        body = json.dumps(_seed(layout, server, drift)).encode()
        answer = await http.post(
            f"{emulated.url}/__emulator/seed",
            content=body,
            headers=_auth(emulated) | {"Content-Type": "application/json"},
        )
        answer.raise_for_status()

    async with httpx.AsyncClient(timeout=600) as http:
        await asyncio.gather(*(one(http, i, e) for i, e in enumerate(fleet, start=1)))
    for found in (drift.missing, drift.imported, drift.stopped_new, drift.again, drift.unknown):
        found.sort()
    return drift


SEED_SQL = [
    """
    INSERT INTO container_plans (id, name, price_monthly_cents, currency, max_cpu_cores,
        max_memory_gb, max_storage_gb, max_containers, active, created_at, updated_at)
    VALUES (md5(:run || 'plan')::uuid, 'Fleet', 1500, 'USD', 64, 256, 1000, 100, true, now(),
        now())
    """,
    """
    INSERT INTO organizations (id, name, slug, personal, created_at, updated_at)
    SELECT md5(:run || 'o' || s.number || '-' || n)::uuid, 'Fleet ' || s.number || '-' || n,
        'r' || :run || '-' || s.number || '-' || n, false, now(), now()
    FROM unnest(CAST(:servers AS uuid[])) WITH ORDINALITY AS s(id, number),
        generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_subscriptions (id, organization_id, plan_id, server_id, status,
        anchor_at, current_period_start, current_period_end, periods_billed,
        provisioning_status, suspended_services, created_at, updated_at)
    SELECT md5(:run || 's' || s.number || '-' || n)::uuid,
        md5(:run || 'o' || s.number || '-' || n)::uuid, md5(:run || 'plan')::uuid, s.id,
        'active', now(), now(), now() + interval '1 month', 1, 'ready', '[]', now(), now()
    FROM unnest(CAST(:servers AS uuid[])) WITH ORDINALITY AS s(id, number),
        generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_projects (id, organization_id, subscription_id, server_id,
        project_name, easypanel_project_name, status, metadata, created_at, updated_at)
    SELECT md5(:run || 'p' || s.number || '-' || n || '-' || p)::uuid,
        md5(:run || 'o' || s.number || '-' || n)::uuid,
        md5(:run || 's' || s.number || '-' || n)::uuid, s.id, 'p' || p,
        'r' || :run || '-' || s.number || '-' || n || '-p' || p, 'active', '{}', now(), now()
    FROM unnest(CAST(:servers AS uuid[])) WITH ORDINALITY AS s(id, number),
        generate_series(1, :orgs) AS n, generate_series(1, :projects) AS p
    """,
    """
    INSERT INTO container_services (id, project_id, organization_id, server_id, service_name,
        easypanel_service_name, swarm_name, service_type, status, desired_state, cpu_limit,
        memory_limit_gb, storage_limit_gb, last_error, configuration, created_at, updated_at)
    SELECT gen_random_uuid(), md5(:run || 'p' || s.number || '-' || n || '-' || p)::uuid,
        md5(:run || 'o' || s.number || '-' || n)::uuid, s.id, 's' || k, 's' || k,
        'r' || :run || '-' || s.number || '-' || n || '-p' || p || '_s' || k,
        CASE WHEN k = :services THEN 'postgres' ELSE 'app' END,
        CASE WHEN marked THEN 'stopped' ELSE 'running' END,
        CASE WHEN marked THEN 'stopped' ELSE 'running' END, 0.25, 0.5, 1,
        CASE WHEN marked THEN CAST(:reason AS text) END,
        CASE WHEN marked THEN jsonb_build_object(CAST(:key AS text), CAST(:reason AS text))
            ELSE '{}' END, now(), now()
    FROM unnest(CAST(:servers AS uuid[])) WITH ORDINALITY AS s(id, number),
        generate_series(1, :orgs) AS n, generate_series(1, :projects) AS p,
        generate_series(1, :services) AS k,
        LATERAL (SELECT p = 1 AND k = 3 AND n % 200 IN (4, 5) AS marked) AS m
    """,
]


async def seed_database(url: str, layout: Layout, fleet: list[Emulated]) -> None:
    """The servers, then every organization's subscription, projects and services."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        ids = []
        for number, emulated in enumerate(fleet, start=1):
            server_id = uuid.uuid4()
            session.add(
                EasypanelServer(
                    id=server_id,
                    name=f"fleet-{number}",
                    api_url=emulated.url,
                    api_key_encrypted=encrypt_secret(emulated.token, api_key_place(server_id)),
                    api_key_last4=emulated.token[-4:],
                    dialect="orpc",
                    is_default=number == 1,
                )
            )
            ids.append(server_id)
        await session.flush()
        params = {
            "run": layout.run,
            "servers": ids,
            "orgs": layout.organizations,
            "projects": PROJECTS,
            "services": SERVICES,
            "reason": REASON,
            "key": SAFETY_STOP,
        }
        for statement in SEED_SQL:
            await session.execute(text(statement), params)
        await session.commit()
    await engine.dispose()
