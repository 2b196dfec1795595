"""The fleet routes: add, list, edit, test, drain and remove servers."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from tests.servers.fleet import SERVERS, add_server, customer, subscribe
from tests.support import Account, count, make_plan

CONFIG = "/api/containers/admin/config"


async def test_adding_servers_reads_their_capacity_and_lists_the_fleet(
    client: httpx.AsyncClient,
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    first = await add_server(client, admin, big_server, "big-1", region="eu-west")
    second = await add_server(
        client,
        admin,
        small_server,
        "small-1",
        capacityCpus="2",
        capacityMemoryGb="3.5",
        capacityStorageGb="40",
        overcommitRatio="1.5",
    )
    listed = await client.get(SERVERS, headers=admin.headers)
    assert listed.status_code == 200
    assert big_server.token not in listed.text
    assert small_server.token not in listed.text
    by_name = {server["name"]: server for server in listed.json()}
    assert list(by_name) == ["big-1", "small-1"]
    big, small = by_name["big-1"], by_name["small-1"]
    assert (big["id"], big["isDefault"], big["state"]) == (first["id"], True, "active")
    assert big["region"] == "eu-west"
    assert big["capacity"] == {"cpus": 8.0, "memoryGb": 16.0, "storageGb": 100.0}
    assert big["capacitySource"] == "reported"
    assert big["used"]["memoryGb"] == 0.5
    assert big["connectionStatus"] == "connected"
    assert big["lastSeenAt"] is not None
    assert big["reserved"] == {"cpus": 0.0, "memoryGb": 0.0, "storageGb": 0.0}
    assert (small["id"], small["isDefault"], small["region"]) == (second["id"], False, "default")
    assert small["capacity"] == {"cpus": 2.0, "memoryGb": 3.5, "storageGb": 40.0}
    assert (small["capacitySource"], small["overcommitRatio"]) == ("manual", 1.5)


async def test_edit_test_and_drain_a_server(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    fresh: None,
) -> None:
    added = await add_server(client, admin, big_server, "big-1")
    url = f"{SERVERS}/{added['id']}"
    edited = await client.put(
        url,
        headers=admin.headers,
        json={
            "name": "frankfurt-1",
            "region": "eu-central",
            "capacityCpus": "4",
            "capacityMemoryGb": "8",
            "capacityStorageGb": "50",
            "overcommitRatio": "2",
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["region"], body["overcommitRatio"]) == (
        "frankfurt-1",
        "eu-central",
        2.0,
    )
    assert (body["capacity"]["cpus"], body["capacitySource"]) == (4.0, "manual")

    tested = await client.post(f"{url}/test", headers=admin.headers)
    assert tested.status_code == 200
    assert tested.json()["capacity"]["cpus"] == 4.0  # set by hand: a test keeps it
    back = await client.put(url, headers=admin.headers, json={"capacitySource": "reported"})
    assert back.json()["capacitySource"] == "reported"
    tested = await client.post(f"{url}/test", headers=admin.headers)
    assert tested.json()["capacity"] == {"cpus": 8.0, "memoryGb": 16.0, "storageGb": 100.0}

    drained = await client.post(f"{url}/drain", headers=admin.headers)
    assert drained.json()["state"] == "draining"
    resumed = await client.put(url, headers=admin.headers, json={"state": "active"})
    assert resumed.json()["state"] == "active"
    assert await count(db, "activity_logs", event_type="easypanel.server.drain") == 1


async def test_a_new_connection_is_tested_before_it_is_saved(
    client: httpx.AsyncClient, admin: Account, big_server: RunningEmulator, fresh: None
) -> None:
    added = await add_server(client, admin, big_server, "big-1")
    wrong = await client.put(
        f"{SERVERS}/{added['id']}", headers=admin.headers, json={"apiKey": "not-the-token"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "EASYPANEL_CONNECTION_FAILED"
    listed = await client.get(SERVERS, headers=admin.headers)
    assert listed.json()[0]["apiKeyLast4"] == big_server.token[-4:]


async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, admin: Account, big_server: RunningEmulator, fresh: None
) -> None:
    base = {"name": "x", "apiUrl": big_server.base_url, "apiKey": big_server.token}
    partial = await client.post(SERVERS, headers=admin.headers, json=base | {"capacityCpus": "4"})
    assert partial.status_code == 422
    assert partial.json()["error"]["details"]["field"] == "capacityMemoryGb"
    for bad in ({"overcommitRatio": "0"}, {"region": "EU West"}, {"name": ""}):
        refused = await client.post(SERVERS, headers=admin.headers, json=base | bad)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    await add_server(client, admin, big_server, "x")
    twice = await client.post(SERVERS, headers=admin.headers, json=base)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "SERVER_NAME_TAKEN"
    assert len((await client.get(SERVERS, headers=admin.headers)).json()) == 1


async def test_removing_a_server_that_hosts_customers_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    big = await add_server(client, admin, big_server, "big-1")
    small = await add_server(client, admin, small_server, "small-1", region="us-east")
    plan = await make_plan(db)
    alice = await customer(client, db)
    assert (await subscribe(client, alice, plan)).status_code == 201

    refused = await client.delete(f"{SERVERS}/{big['id']}", headers=admin.headers)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["details"]["subscriptions"]) == ("SERVER_IN_USE", 1)
    assert "1 subscription" in error["message"]

    removed = await client.delete(f"{SERVERS}/{small['id']}", headers=admin.headers)
    assert removed.status_code == 204
    assert [s["name"] for s in (await client.get(SERVERS, headers=admin.headers)).json()] == [
        "big-1"
    ]
    again = await client.delete(f"{SERVERS}/{small['id']}", headers=admin.headers)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "SERVER_NOT_FOUND"
    fleet = (await client.get(SERVERS, headers=admin.headers)).json()
    assert fleet[0]["subscriptions"] == 1
    assert fleet[0]["reserved"] == {"cpus": 2.0, "memoryGb": 4.0, "storageGb": 20.0}


async def test_the_config_routes_act_on_the_first_server(
    client: httpx.AsyncClient,
    admin: Account,
    big_server: RunningEmulator,
    small_server: RunningEmulator,
    fresh: None,
) -> None:
    await add_server(client, admin, big_server, "big-1")
    await add_server(client, admin, small_server, "small-1")
    shown = await client.get(CONFIG, headers=admin.headers)
    assert (shown.json()["apiUrl"], shown.json()["active"]) == (big_server.base_url, True)
    tested = await client.post(f"{CONFIG}/test", headers=admin.headers)
    assert tested.json()["ok"] is True
    saved = await client.post(
        CONFIG,
        headers=admin.headers,
        json={"apiUrl": small_server.base_url, "apiKey": small_server.token, "force": True},
    )
    assert saved.status_code == 200
    fleet = {s["name"]: s for s in (await client.get(SERVERS, headers=admin.headers)).json()}
    assert fleet["big-1"]["apiUrl"] == small_server.base_url
    assert fleet["small-1"]["apiUrl"] == small_server.base_url
    assert fleet["big-1"]["isDefault"] is True


async def test_fleet_routes_are_for_admins(client: httpx.AsyncClient, alice: Account) -> None:
    some = "00000000-0000-0000-0000-000000000001"
    for method, url in (
        ("GET", SERVERS),
        ("POST", SERVERS),
        ("PUT", f"{SERVERS}/{some}"),
        ("DELETE", f"{SERVERS}/{some}"),
        ("POST", f"{SERVERS}/{some}/test"),
        ("POST", f"{SERVERS}/{some}/drain"),
    ):
        response = await client.request(method, url, headers=alice.headers, json={})
        assert response.status_code == 403, (method, url)
