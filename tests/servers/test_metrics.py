"""The fleet view shows, per server, the calls of the last hour: how many, how many failed, and
their latency (p50, p95), read from the audit of every call the client pool makes."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from tests.servers.fleet import SERVERS, add_server, customer, placed_on, subscribe
from tests.servers.test_pages import _browser
from tests.support import Account, make_plan, services_url


async def _audited(db: async_sessionmaker[AsyncSession], server: uuid.UUID) -> tuple[int, int]:
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE error_message IS NOT NULL)"
                    " FROM easypanel_audit_log WHERE server_id = :server"
                ),
                {"server": server},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_the_fleet_shows_each_servers_calls_errors_and_latency(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = uuid.UUID((await add_server(client, admin, big_server, "eu-1"))["id"])
    await add_server(client, admin, small_server, "eu-2")
    account = await customer(client, db)
    assert (await subscribe(client, account, await make_plan(db))).status_code == 201
    assert await placed_on(db, account) == big
    url = await services_url(client, account)
    body = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}
    assert (await client.post(f"{url}/app", headers=account.headers, json=body)).is_success
    big_server.controller.fail("*", times=2, status=503)
    assert (await client.get(f"{url}/web", headers=account.headers)).status_code == 200

    calls, errors = await _audited(db, big)
    assert calls > errors >= 1
    fleet = {s["name"]: s for s in (await client.get(SERVERS, headers=admin.headers)).json()}
    seen = fleet["eu-1"]["callsLastHour"]
    assert (seen["calls"], seen["errors"]) == (calls, errors)
    assert 0 <= seen["p50Ms"] <= seen["p95Ms"]
    assert fleet["eu-2"]["callsLastHour"] == {"calls": 0, "errors": 0, "p50Ms": None, "p95Ms": None}

    await _browser(client, admin)
    page = await client.get("/admin/servers")
    rows = dict(re.findall(r'<tr data-server="([\w-]+)">(.*?)</tr>', page.text, re.S))
    assert f"Last hour: {calls} calls, {errors} error" in rows["eu-1"]
    assert f"p50 {seen['p50Ms']} ms, p95 {seen['p95Ms']} ms" in rows["eu-1"]
    assert "Last hour: 0 calls, 0 errors</span>" in rows["eu-2"]
