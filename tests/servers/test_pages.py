"""The admin console's Servers page, as a browser uses it."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import get_settings
from skypanel.emulator import RunningEmulator
from skypanel.web import cookies
from tests.servers.fleet import SERVERS, customer, placed_on, subscribe
from tests.support import Account, make_plan


async def _browser(client: httpx.AsyncClient, account: Account) -> str:
    """Sign in through the web form (as nobody else); returns the CSRF token of the session."""
    client.cookies.clear()
    await client.get("/login")
    token = cookies.csrf_token(get_settings(), client.cookies[cookies.CSRF], None)
    signed_in = await client.post(
        "/login",
        data={"email": account.email, "password": account.password, cookies.CSRF_FIELD: token},
    )
    assert signed_in.status_code == 303, signed_in.text
    return cookies.csrf_token(
        get_settings(), client.cookies[cookies.CSRF], client.cookies[cookies.SESSION]
    )


async def test_the_servers_page_adds_drains_and_removes_servers(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    plan = await make_plan(db)
    token = await _browser(client, admin)
    for name, emulator, region in (("big", big_server, "eu"), ("small", small_server, "")):
        added = await client.post(
            "/admin/servers/new",
            data={
                cookies.CSRF_FIELD: token,
                "name": name,
                "region": region,
                "api_url": emulator.base_url,
                "api_key": emulator.token,
                "dialect": "auto",
            },
        )
        assert added.status_code == 303, added.text
    account = await customer(client, db)
    assert (await subscribe(client, account, plan, region="eu")).status_code == 201

    page = await client.get("/admin/servers")
    assert page.status_code == 200
    assert 'href="/admin/servers"' in page.text
    rows = dict(re.findall(r'<tr data-server="(\w+)">(.*?)</tr>', page.text, re.S))
    assert set(rows) == {"big", "small"}
    assert "8 vCPU · 16 GB · 100 GB disk" in rows["big"]
    assert "2 vCPU · 4 GB · 20 GB disk" in rows["big"]
    assert "Region eu" in rows["big"]
    assert big_server.token not in page.text

    ids = {s["name"]: s["id"] for s in (await client.get(SERVERS, headers=admin.headers)).json()}
    drained = await client.post(
        f"/admin/servers/{ids['small']}/drain", data={cookies.CSRF_FIELD: token}
    )
    assert drained.status_code == 303
    edit = await client.get(f"/admin/servers/{ids['small']}")
    assert 'value="small"' in edit.text
    saved = await client.post(
        f"/admin/servers/{ids['small']}",
        data={cookies.CSRF_FIELD: token, "name": "small-2", "overcommit_ratio": "2"},
    )
    assert saved.status_code == 303
    removed = await client.post(
        f"/admin/servers/{ids['small']}/remove", data={cookies.CSRF_FIELD: token}
    )
    assert removed.status_code == 303
    fleet = (await client.get(SERVERS, headers=admin.headers)).json()
    assert [(s["name"], s["state"]) for s in fleet] == [("big", "active")]
    refused = await client.post(
        f"/admin/servers/{ids['big']}/remove", data={cookies.CSRF_FIELD: token}
    )
    assert refused.status_code == 303
    assert len((await client.get(SERVERS, headers=admin.headers)).json()) == 1


async def test_plan_regions_from_the_form_and_the_region_select_on_subscribe(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    await client.post(
        SERVERS,
        headers=admin.headers,
        json={
            "name": "eu-1",
            "region": "eu",
            "apiUrl": big_server.base_url,
            "apiKey": big_server.token,
        },
    )
    await client.post(
        SERVERS,
        headers=admin.headers,
        json={
            "name": "us-1",
            "region": "us",
            "apiUrl": small_server.base_url,
            "apiKey": small_server.token,
        },
    )
    token = await _browser(client, admin)
    created = await client.post(
        "/admin/plans/new",
        data={
            cookies.CSRF_FIELD: token,
            "name": "Two regions",
            "price_monthly": "5.00",
            "max_cpu_cores": "1",
            "max_memory_gb": "1",
            "max_storage_gb": "1",
            "max_containers": "1",
            "regions": "us, eu",
        },
    )
    assert created.status_code == 303
    [plan] = (await client.get("/api/containers/admin/plans", headers=admin.headers)).json()
    assert plan["regions"] == ["eu", "us"]

    account = await customer(client, db)
    token = await _browser(client, account)
    confirm = await client.get(f"/plans/{plan['id']}/confirm")
    assert '<option value="us">us</option>' in confirm.text
    paid = await client.post(
        f"/plans/{plan['id']}/subscribe",
        data={cookies.CSRF_FIELD: token, "region": "us", "idempotency_key": "k-1"},
    )
    assert paid.status_code == 303
    assert await placed_on(db, account) == uuid.UUID(
        next(
            s["id"]
            for s in (await client.get(SERVERS, headers=admin.headers)).json()
            if s["region"] == "us"
        )
    )
