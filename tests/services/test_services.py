from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, configure_server, count, credit, make_plan, register, subscribed

PROJECT = "test-user-s-organization"
EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{PROJECT}/services"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}


async def test_deploy_an_app_and_watch_it_run(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="2", memory_gb="4", storage_gb=20, containers=4)
    created = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={
            **NGINX,
            "env": {"MODE": "prod", "STRIPE_SECRET": "sk_live_123456"},
            "mounts": [{"name": "data", "mountPath": "/data"}],
            "ports": [{"published": 30080, "target": 80}],
        },
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert (body["status"], body["operation"]["kind"]) == ("creating", "easypanel.app.create")
    assert await count(db, "container_services", service_name="web", status="deploying") == 1
    assert body["resources"] == {"cpuCores": 0.5, "memoryGb": 1.0, "storageGb": 5.0}
    assert body["env"] == {"MODE": "prod", "STRIPE_SECRET": "••••••••"}
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert app["resources"]["cpuLimit"] == 0.5
    assert app["resources"]["memoryLimit"] == 1024
    assert "STRIPE_SECRET=sk_live_123456" in app["env"]

    easypanel.controller.advance(30)
    detail = await client.get(f"{SERVICES}/web", headers=alice.headers)
    assert detail.json()["status"] == "running"
    revealed = await client.get(f"{SERVICES}/web?reveal=true", headers=alice.headers)
    assert revealed.json()["env"]["STRIPE_SECRET"] == "sk_live_123456"

    stopped = await client.post(f"{SERVICES}/web/stop", headers=alice.headers)
    assert (stopped.status_code, stopped.json()["status"]) == (202, "stopping")
    assert easypanel.controller.tasks(EP, "web")[0] == 0
    assert await count(db, "container_services", service_name="web", status="stopped") == 1
    started = await client.post(f"{SERVICES}/web/start", headers=alice.headers)
    assert started.json()["status"] == "starting"
    assert easypanel.controller.tasks(EP, "web")[0] == 1
    assert await count(db, "container_services", service_name="web", status="running") == 1
    restarted = await client.post(f"{SERVICES}/web/restart", headers=alice.headers)
    assert restarted.status_code == 202

    listed = await client.get(SERVICES, headers=alice.headers)
    assert [s["serviceName"] for s in listed.json()] == ["web"]


async def test_deploy_a_database_with_generated_credentials(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        f"{SERVICES}/database",
        headers=alice.headers,
        json={"serviceName": "main-db", "type": "postgres", "version": "16"},
    )
    assert created.status_code == 202, created.text
    connection = created.json()["connection"]
    assert connection["host"] == f"{EP}_main-db"
    assert (connection["port"], connection["user"], connection["database"]) == (
        5432,
        "postgres",
        "main_db",
    )
    assert connection["password"] == "••••••••"
    revealed = (await client.get(f"{SERVICES}/main-db?reveal=true", headers=alice.headers)).json()
    password = revealed["connection"]["password"]
    assert len(password) == 20
    assert (
        revealed["connection"]["url"] == f"postgres://postgres:{password}@{EP}_main-db:5432/main_db"
    )
    database = easypanel.controller.service(EP, "main-db")
    assert database is not None
    assert database["password"] == password
    assert database["image"] == "postgres:16"

    await client.post(
        f"/api/organizations/{alice.organization_id}/members",
        headers=alice.headers,
        json={"email": bob.email, "role": "member"},
    )
    member = await client.get(
        f"{SERVICES}/main-db?reveal=true", headers=bob.acting_in(alice.organization_id)
    )
    assert member.status_code == 403
    disabled = await client.post(f"{SERVICES}/main-db/stop", headers=alice.headers)
    assert disabled.json()["status"] == "stopping"
    assert await count(db, "container_services", service_name="main-db", status="stopped") == 1
    database = easypanel.controller.service(EP, "main-db")
    assert database is not None
    assert database["enabled"] is False


@pytest.mark.parametrize(
    ("resources", "quota"),
    [
        ({"cpuCores": "2.5"}, "cpuCores"),
        ({"memoryGb": "5"}, "memoryGb"),
        ({"storageGb": "21"}, "storageGb"),
    ],
)
async def test_each_quota_is_enforced(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    resources: dict[str, str],
    quota: str,
) -> None:
    await subscribed(client, db, alice, cpu="2", memory_gb="4", storage_gb=20, containers=4)
    refused = await client.post(
        f"{SERVICES}/app", headers=alice.headers, json={**NGINX, "resources": resources}
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert [e["quota"] for e in error["details"]["exceeded"]] == [quota]
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0
    assert easypanel.controller.service(EP, "web") is None


async def test_container_count_quota(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, containers=2)
    small = {"resources": {"cpuCores": "0.1", "memoryGb": "0.1", "storageGb": "0.1"}}
    for name in ("one", "two"):
        ok = await client.post(
            f"{SERVICES}/app", headers=alice.headers, json={**NGINX, **small, "serviceName": name}
        )
        assert ok.status_code == 202
    third = await client.post(
        f"{SERVICES}/app", headers=alice.headers, json={**NGINX, **small, "serviceName": "three"}
    )
    assert third.status_code == 403
    assert third.json()["error"]["details"]["exceeded"] == [
        {"quota": "containers", "requested": 1, "used": 2, "limit": 2}
    ]
    usage = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    containers = next(q for q in usage["quotas"] if q["quota"] == "containers")
    assert (containers["used"], containers["percentage"], containers["warning"]) == (2, 100.0, True)


async def test_bind_mounts_are_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    refused = await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={
            **NGINX,
            "mounts": [{"type": "bind", "name": "sock", "mountPath": "/var/run/docker.sock"}],
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "UNSAFE_DEPLOYMENT"
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0


async def test_env_and_resource_updates_reach_easypanel(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="2", memory_gb="4", storage_gb=20, containers=4)
    await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    env = await client.put(
        f"{SERVICES}/web/env",
        headers=alice.headers,
        json={"env": {"GREETING": "hello", "CUSTOM": "abc123xyz"}, "secretKeys": ["CUSTOM"]},
    )
    assert env.status_code == 202
    assert env.json()["env"] == {"GREETING": "hello", "CUSTOM": "••••••••"}
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert app["env"] == "CUSTOM=abc123xyz\nGREETING=hello\n"
    bigger = await client.put(
        f"{SERVICES}/web/resources",
        headers=alice.headers,
        json={"cpuCores": "1.5", "memoryGb": "2"},
    )
    assert bigger.json()["resources"] == {"cpuCores": 1.5, "memoryGb": 2.0, "storageGb": 5.0}
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert (app["resources"]["cpuLimit"], app["resources"]["memoryLimit"]) == (1.5, 2048)
    too_big = await client.put(
        f"{SERVICES}/web/resources", headers=alice.headers, json={"cpuCores": "2.5"}
    )
    assert too_big.status_code == 403


async def test_logs_are_redacted(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={**NGINX, "env": {"API_KEY": "verysecretvalue"}},
    )
    easypanel.controller.advance(60)
    logs = await client.get(f"{SERVICES}/web/logs?limit=50", headers=alice.headers)
    assert logs.status_code == 200
    body = logs.json()
    assert body["source"] == "service-logs"
    assert body["lines"]
    assert "verysecretvalue" not in logs.text
    more = await client.get(
        f"{SERVICES}/web/logs?cursor={body['nextCursor']}", headers=alice.headers
    )
    assert more.status_code == 200


async def test_deleting_services_and_projects(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    busy = await client.delete(f"/api/containers/projects/{PROJECT}", headers=alice.headers)
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "PROJECT_NOT_EMPTY"
    assert busy.json()["error"]["details"]["services"] == ["web"]
    gone = await client.delete(f"{SERVICES}/web", headers=alice.headers)
    assert gone.status_code == 202
    assert gone.json()["status"] == "deleting"
    assert (await client.get(f"{SERVICES}/web", headers=alice.headers)).status_code == 404
    assert easypanel.controller.service(EP, "web") is None
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0
    empty = await client.delete(f"/api/containers/projects/{PROJECT}", headers=alice.headers)
    assert empty.status_code == 202
    assert EP not in easypanel.controller.snapshot()["projects"]


async def test_twenty_concurrent_deployments_with_room_for_five_yield_five(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> None:
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    account = await register(live_client)
    plan = await make_plan(committed, cpu="10", memory_gb="10", storage_gb=100, containers=5)
    await credit(committed, account.organization_id, 10_000)
    subscribe = await live_client.post(
        "/api/containers/subscription", headers=account.headers, json={"planId": str(plan)}
    )
    assert subscribe.status_code == 201
    responses = await asyncio.gather(
        *(
            live_client.post(
                f"{SERVICES}/app",
                headers=account.headers,
                json={
                    **NGINX,
                    "serviceName": f"app-{n}",
                    "resources": {"cpuCores": "1", "memoryGb": "1", "storageGb": "1"},
                },
            )
            for n in range(20)
        )
    )
    codes = [r.status_code for r in responses]
    assert codes.count(202) == 5
    assert codes.count(403) == 15
    assert (
        await count(committed, "container_services", organization_id=account.organization_id) == 5
    )
    assert len([k for k in easypanel.controller.snapshot()["services"] if k.startswith(EP)]) == 5
    easypanel.controller.reset()


async def test_a_suspended_subscription_cannot_deploy(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    async with db() as session:
        await session.execute(
            text(
                "UPDATE container_subscriptions SET status = 'suspended' WHERE organization_id = :o"
            ),
            {"o": alice.organization_id},
        )
        await session.commit()
    refused = await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "SUBSCRIPTION_SUSPENDED"
    for method, path in (
        ("POST", "/api/containers/projects"),
        ("PUT", f"/api/containers/projects/{PROJECT}/env"),
        ("DELETE", f"/api/containers/projects/{PROJECT}"),
        ("POST", f"{SERVICES}/database"),
    ):
        body = {"projectName": "x", "env": {}} if path.endswith("projects") else {"env": {}}
        if path.endswith("/database"):
            body = {"serviceName": "db", "type": "redis"}
        response = await client.request(method, path, headers=alice.headers, json=body)
        assert response.status_code == 402, path
