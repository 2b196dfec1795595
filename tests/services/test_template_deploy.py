from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.deployments import sync
from skypanel.emulator import RunningEmulator
from skypanel.models import ContainerTemplate, EasypanelServer
from skypanel.templates.catalog import sync_catalog
from tests.conftest import _app
from tests.support import Account, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"


async def _template(db: async_sessionmaker[AsyncSession], name: str) -> str:
    async with db() as session:
        await sync_catalog(session)
        await session.commit()
        found = await session.scalar(
            select(ContainerTemplate.id).where(ContainerTemplate.template_name == name)
        )
    assert found is not None
    return str(found)


async def test_deploy_wordpress_from_the_catalogue(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="8", memory_gb="16", storage_gb=100, containers=10)
    template = await _template(db, "wordpress")
    deployed = await client.post(
        f"{SERVICES}/template",
        headers=alice.headers,
        json={"templateId": template, "inputs": {}, "servicePrefix": "blog"},
    )
    assert deployed.status_code == 202, deployed.text
    body = deployed.json()
    names = sorted(s["serviceName"] for s in body["services"])
    assert len(names) == 2
    assert all(name.startswith("blog-") for name in names)
    state = easypanel.controller.snapshot()["services"]
    assert sorted(k.split("/")[1] for k in state if k.startswith(f"{EP}/")) == names
    assert {s["status"] for s in body["services"]} == {"creating"}
    assert body["operation"]["kind"] == "easypanel.template.create"
    listed = await client.get(SERVICES, headers=alice.headers)
    # Live: the app builds, the database's task is on its way up.
    assert {s["status"] for s in listed.json()} == {"deploying", "starting"}
    assert await count(db, "container_services", organization_id=alice.organization_id) == 2
    again = await client.post(
        f"{SERVICES}/template",
        headers=alice.headers,
        json={"templateId": template, "inputs": {}, "servicePrefix": "blog"},
    )
    assert again.status_code == 409


async def test_a_template_that_does_not_fit_the_quota_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, containers=1)
    template = await _template(db, "wordpress")
    refused = await client.post(
        f"{SERVICES}/template", headers=alice.headers, json={"templateId": template, "inputs": {}}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0
    assert not [k for k in easypanel.controller.snapshot()["services"] if k.startswith(EP)]


async def test_a_templates_app_has_its_create_deployment_followed_to_the_end(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="8", memory_gb="16", storage_gb=100, containers=10)
    template = await _template(db, "uptime-kuma")
    deployed = await client.post(
        f"{SERVICES}/template",
        headers=alice.headers,
        json={"templateId": template, "inputs": {}, "servicePrefix": "status"},
    )
    assert deployed.status_code == 202, deployed.text
    [app] = [s["serviceName"] for s in deployed.json()["services"] if s["serviceType"] == "app"]
    started = (await client.get(f"{SERVICES}/{app}/deployments", headers=alice.headers)).json()
    easypanel.controller.advance(30)
    state = _app(client).state
    await sync.sync(state.sessions, state.clients)
    ended = (await client.get(f"{SERVICES}/{app}/deployments", headers=alice.headers)).json()
    log = await client.get(
        f"{SERVICES}/{app}/deployments/{ended[0]['id']}/log", headers=alice.headers
    )

    assert [(d["trigger"], d["status"], d["actorUserId"]) for d in started] == [
        ("create", "running", str(alice.user_id))
    ]
    assert started[0]["image"]
    assert started[0]["easypanelActionId"]
    assert [(d["trigger"], d["status"]) for d in ended] == [("create", "done")]
    assert (log.json()["live"], log.json()["log"].endswith("Done.\n")) == (False, True)
