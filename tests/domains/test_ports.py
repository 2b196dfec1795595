"""Published ports of apps and external access to databases, from the admin's port range."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}


async def _project(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], who: Account
) -> tuple[str, str]:
    await subscribed(client, db, who)
    [project] = (await client.get("/api/containers/projects", headers=who.headers)).json()
    return (
        f"/api/containers/projects/{project['projectName']}/services",
        project["easypanelProjectName"],
    )


async def test_an_app_publishes_a_port_from_the_range_and_removes_it(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    services, project = await _project(client, db, alice)
    await client.post(f"{services}/app", headers=alice.headers, json=NGINX)

    outside = await client.post(
        f"{services}/web/ports", headers=alice.headers, json={"published": 2222, "target": 22}
    )
    published = await client.post(
        f"{services}/web/ports",
        headers=alice.headers,
        json={"published": 30053, "target": 53, "protocol": "udp"},
    )

    assert outside.status_code == 422, outside.text
    assert outside.json()["error"]["code"] == "PORT_NOT_ALLOWED"
    assert outside.json()["error"]["details"]["field"] == "ports"
    assert published.status_code == 202, published.text
    app = easypanel.controller.service(project, "web")
    assert app is not None
    assert app["ports"] == [{"published": 30053, "target": 53, "protocol": "udp"}]
    listed = (await client.get(f"{services}/web/ports", headers=alice.headers)).json()
    assert [(p["published"], p["target"], p["protocol"]) for p in listed] == [(30053, 53, "udp")]

    removed = await client.delete(f"{services}/web/ports/{listed[0]['id']}", headers=alice.headers)

    assert removed.status_code == 202, removed.text
    app = easypanel.controller.service(project, "web")
    assert app is not None
    assert app["ports"] == []
    assert await count(db, "service_ports") == 0


async def test_external_access_opens_a_database_on_a_free_port_of_the_range(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    services, project = await _project(client, db, alice)
    await client.post(
        f"{services}/database",
        headers=alice.headers,
        json={"serviceName": "db", "type": "postgres"},
    )
    closed = await client.get(f"{services}/db/external-access", headers=alice.headers)
    assert closed.json() == {
        "enabled": False,
        "host": None,
        "port": None,
        "url": None,
        "operation": None,
    }

    opened = await client.put(f"{services}/db/external-access", headers=alice.headers, json={})

    assert opened.status_code == 202, opened.text
    body = opened.json()
    assert (body["enabled"], body["host"], body["port"]) == (True, "127.0.0.1", 30000)
    assert body["url"] == "postgres://postgres:••••••••@127.0.0.1:30000/db"
    assert body["operation"]["kind"] == "easypanel.database.expose"
    database = easypanel.controller.service(project, "db")
    assert database is not None
    assert database["exposedPort"] == 30000
    revealed = await client.get(f"{services}/db/external-access?reveal=true", headers=alice.headers)
    assert revealed.json()["url"] == (
        f"postgres://postgres:{database['password']}@127.0.0.1:30000/db"
    )

    theirs, _ = await _project(client, db, bob)
    await client.post(
        f"{theirs}/database", headers=bob.headers, json={"serviceName": "db", "type": "redis"}
    )
    same = await client.put(
        f"{theirs}/db/external-access", headers=bob.headers, json={"port": 30000}
    )
    assert same.status_code == 409, same.text
    assert same.json()["error"]["code"] == "PORT_TAKEN"
    free = await client.put(f"{theirs}/db/external-access", headers=bob.headers, json={})
    assert free.json()["port"] == 30001
    app = await client.put(f"{services}/db/external-access", headers=alice.headers, json={})
    assert app.json()["port"] == 30000

    shut = await client.delete(f"{services}/db/external-access", headers=alice.headers)

    assert shut.status_code == 202, shut.text
    assert shut.json()["enabled"] is False
    database = easypanel.controller.service(project, "db")
    assert database is not None
    assert database["exposedPort"] == 0
    assert await count(db, "service_ports", purpose="expose") == 1
