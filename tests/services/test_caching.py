from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, subscribed

SERVICES = "/api/containers/projects/test-user-s-organization/services"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx"}}


def _containers(usage: dict[str, object]) -> object:
    quotas = usage["quotas"]
    assert isinstance(quotas, list)
    return next(q["used"] for q in quotas if q["quota"] == "containers")


async def test_usage_and_project_list_are_cached_and_dropped_on_change(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, containers=5)
    await client.post(
        f"{SERVICES}/app",
        headers=alice.headers,
        json={**NGINX, "mounts": [{"name": "data", "mountPath": "/data"}]},
    )
    easypanel.controller.advance(60)
    easypanel.controller.clear_requests()

    first = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    assert _containers(first) == 1
    assert first["storageMeasuredGb"] is not None
    calls = len(easypanel.controller.requests())
    assert calls == 1
    again = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    assert again == first
    for _ in range(3):
        listed = await client.get("/api/containers/projects", headers=alice.headers)
        assert listed.json()[0]["serviceCount"] == 1
    assert len(easypanel.controller.requests()) == calls

    await client.post(
        f"{SERVICES}/app", headers=alice.headers, json={**NGINX, "serviceName": "api"}
    )
    after = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    assert _containers(after) == 2
    listed = await client.get("/api/containers/projects", headers=alice.headers)
    assert listed.json()[0]["serviceCount"] == 2
