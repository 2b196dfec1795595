"""Delivering operations never calls Easypanel while a transaction of ours holds locks: the
request commits before the worker delivers, and the runner claims, calls and records apart."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from tests.locks import LockWatch
from tests.support import configure_server, credit, make_plan, register

NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx"}}


async def test_subscribe_deploy_stop_start_and_delete_hold_no_lock_while_calling_easypanel(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    no_locks_during_calls: LockWatch,
) -> None:
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    account = await register(live_client)
    await credit(committed, account.organization_id, 10_000)
    plan = await make_plan(committed)
    subscribed = await live_client.post(
        "/api/containers/subscription", headers=account.headers, json={"planId": str(plan)}
    )
    assert subscribed.status_code == 201
    [project] = (await live_client.get("/api/containers/projects", headers=account.headers)).json()
    services = f"/api/containers/projects/{project['projectName']}/services"
    assert (
        await live_client.post(f"{services}/app", headers=account.headers, json=NGINX)
    ).status_code == 202
    easypanel.controller.advance(30)
    for verb in ("stop", "start", "restart"):
        acted = await live_client.post(f"{services}/web/{verb}", headers=account.headers)
        assert acted.status_code == 202, acted.text
    assert (await live_client.delete(f"{services}/web", headers=account.headers)).status_code == 202
    assert easypanel.controller.service(project["easypanelProjectName"], "web") is None
    changes = [
        call.procedure
        for call in easypanel.controller.requests()
        if not call.procedure.endswith(
            ("inspectProject", "listUsers", "getTaskStats", "listActions")
        )
    ]
    assert changes[-6:] == [
        "services.app.createService",
        "services.app.deployService",
        "services.app.stopService",
        "services.app.startService",
        "services.app.restartService",
        "services.app.destroyService",
    ]
