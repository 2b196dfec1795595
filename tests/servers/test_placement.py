"""Placement: each new subscription goes to the active server with the most room that fits."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.servers.health import check_servers
from tests.servers.fleet import SERVERS, add_server, customer, placed_on, subscribe
from tests.support import Account, balance, count, make_admin, make_plan


async def test_placement_spreads_by_free_capacity_until_full(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = uuid.UUID((await add_server(client, admin, big_server, "big"))["id"])
    small = uuid.UUID((await add_server(client, admin, small_server, "small"))["id"])
    plan = await make_plan(db, cpu="2", memory_gb="4", storage_gb=20)
    placed = []
    for _ in range(6):
        account = await customer(client, db)
        response = await subscribe(client, account, plan)
        assert response.status_code == 201, response.text
        placed.append(await placed_on(db, account))
    # big 8 vCPU/16 GB, small 4/8: each goes where the scarcest resource is least used.
    assert placed == [big, small, big, small, big, big]

    late = await customer(client, db)
    refused = await subscribe(client, late, plan)
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "NO_CAPACITY"
    assert "nothing was charged" in error["message"]
    assert await balance(db, late.organization_id) == 10_000
    assert await count(db, "container_billing_cycles", organization_id=late.organization_id) == 0
    assert await placed_on(db, late) is None
    fleet = {s["name"]: s for s in (await client.get(SERVERS, headers=admin.headers)).json()}
    assert fleet["big"]["reserved"] == {"cpus": 8.0, "memoryGb": 16.0, "storageGb": 80.0}
    assert (fleet["big"]["subscriptions"], fleet["small"]["subscriptions"]) == (4, 2)


async def test_overcommit_lets_a_server_take_more(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    await add_server(client, admin, small_server, "small", overcommitRatio="1.5")
    plan = await make_plan(db, cpu="2", memory_gb="4", storage_gb=20)
    codes = [
        (await subscribe(client, await customer(client, db), plan)).status_code for _ in range(4)
    ]
    assert codes == [201, 201, 201, 503]


async def test_a_draining_server_takes_no_new_subscriptions(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = (await add_server(client, admin, big_server, "big"))["id"]
    small = uuid.UUID((await add_server(client, admin, small_server, "small"))["id"])
    plan = await make_plan(db, cpu="1", memory_gb="1", storage_gb=1)
    assert (await client.post(f"{SERVERS}/{big}/drain", headers=admin.headers)).status_code == 200
    for _ in range(3):
        account = await customer(client, db)
        assert (await subscribe(client, account, plan)).status_code == 201
        assert await placed_on(db, account) == small
    drained = await client.post(f"{SERVERS}/{small}/drain", headers=admin.headers)
    assert drained.json()["subscriptions"] == 3
    late = await customer(client, db)
    refused = await subscribe(client, late, plan)
    assert refused.json()["error"]["code"] == "NO_CAPACITY"
    assert await balance(db, late.organization_id) == 10_000


async def test_a_down_server_is_skipped_until_it_answers_again(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = uuid.UUID((await add_server(client, admin, big_server, "big"))["id"])
    small = uuid.UUID((await add_server(client, admin, small_server, "small"))["id"])
    plan = await make_plan(db, cpu="1", memory_gb="1", storage_gb=1)
    big_server.controller.fail("auth.getUser", times=100, status=503)
    for failures in (1, 2):
        report = await check_servers(db)
        assert (report.checked, report.down) == (2, [])
        fleet = {s["name"]: s for s in (await client.get(SERVERS, headers=admin.headers)).json()}
        assert (fleet["big"]["state"], fleet["big"]["consecutiveFailures"]) == ("active", failures)
    report = await check_servers(db)
    assert report.down == [big]
    assert await count(db, "activity_logs", event_type="easypanel.server.down") == 1

    for _ in range(2):
        account = await customer(client, db)
        assert (await subscribe(client, account, plan)).status_code == 201
        assert await placed_on(db, account) == small

    big_server.controller.clear_faults()
    report = await check_servers(db)
    assert report.recovered == [big]
    fleet = {s["name"]: s for s in (await client.get(SERVERS, headers=admin.headers)).json()}
    assert (fleet["big"]["state"], fleet["big"]["consecutiveFailures"]) == ("active", 0)
    account = await customer(client, db)
    assert (await subscribe(client, account, plan)).status_code == 201
    assert await placed_on(db, account) == big


async def test_region_limited_plans_go_only_to_their_regions(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    eu = uuid.UUID((await add_server(client, admin, small_server, "eu-1", region="eu"))["id"])
    us = uuid.UUID((await add_server(client, admin, big_server, "us-1", region="us"))["id"])
    created = await client.post(
        "/api/containers/admin/plans",
        headers=admin.headers,
        json={
            "name": "EU only",
            "priceMonthly": "10.00",
            "maxCpuCores": "1",
            "maxMemoryGb": "1",
            "maxStorageGb": 1,
            "maxContainers": 1,
            "regions": ["eu"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["regions"] == ["eu"]
    eu_only = uuid.UUID(created.json()["id"])
    anywhere = await make_plan(db, cpu="1", memory_gb="1", storage_gb=1)

    for _ in range(2):  # the us server has more room, yet the plan stays in eu
        account = await customer(client, db)
        assert (await subscribe(client, account, eu_only)).status_code == 201
        assert await placed_on(db, account) == eu

    wrong = await customer(client, db)
    refused = await subscribe(client, wrong, eu_only, region="us")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("VALIDATION_ERROR", "region")
    assert "offered: eu" in error["message"]
    assert await balance(db, wrong.organization_id) == 10_000
    unknown = await subscribe(client, wrong, anywhere, region="mars")
    assert unknown.json()["error"]["details"]["field"] == "region"

    chosen = await subscribe(client, wrong, anywhere, region="eu")
    assert chosen.status_code == 201
    assert await placed_on(db, wrong) == eu
    other = await customer(client, db)
    assert (await subscribe(client, other, anywhere)).status_code == 201
    assert await placed_on(db, other) == us

    limited = await client.put(
        f"/api/containers/admin/plans/{anywhere}", headers=admin.headers, json={"regions": ["us"]}
    )
    assert limited.json()["regions"] == ["us"]
    await client.put(f"{SERVERS}/{us}", headers=admin.headers, json={"state": "draining"})
    full = await subscribe(client, await customer(client, db), anywhere)
    assert full.status_code == 503
    assert "in us" in full.json()["error"]["message"]


async def test_twenty_concurrent_subscribes_place_only_what_fits(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    admin = await make_admin(live_client, committed)
    server = await add_server(
        live_client,
        admin,
        small_server,
        "small",
        capacityCpus="6",
        capacityMemoryGb="12",
        capacityStorageGb="100",
    )
    plan = await make_plan(committed, price_cents=700, cpu="2", memory_gb="4", storage_gb=20)
    accounts = [await customer(live_client, committed) for _ in range(20)]
    responses = await asyncio.gather(
        *(subscribe(live_client, account, plan) for account in accounts)
    )
    codes = [response.status_code for response in responses]
    assert sorted(codes) == [201] * 3 + [503] * 17
    for account, response in zip(accounts, responses, strict=True):
        org = account.organization_id
        if response.status_code == 201:
            assert await balance(committed, org) == 10_000 - 700
            assert await placed_on(committed, account) == uuid.UUID(server["id"])
            assert await count(committed, "container_billing_cycles", organization_id=org) == 1
        else:
            assert response.json()["error"]["code"] == "NO_CAPACITY"
            assert await balance(committed, org) == 10_000
            assert await count(committed, "container_billing_cycles", organization_id=org) == 0
            assert await count(committed, "container_subscriptions", organization_id=org) == 0
    assert await count(committed, "container_subscriptions") == 3
