from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import EasypanelServer
from tests.support import Account, subscribed


async def test_admin_overview_and_lists(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice, price_cents=1500)
    await subscribed(client, db, bob, price_cents=2500)
    [project] = (await client.get("/api/containers/projects", headers=alice.headers)).json()
    deployed = await client.post(
        f"/api/containers/projects/{project['projectName']}/services/database",
        headers=alice.headers,
        json={"serviceName": "db", "type": "redis"},
    )
    assert deployed.status_code == 202, deployed.text
    overview = await client.get("/api/containers/admin/overview", headers=admin.headers)
    assert overview.status_code == 200
    body = overview.json()
    assert body["subscriptions"] == {"active": 2}
    assert body["projects"] == 2
    assert body["services"] == [{"type": "redis", "status": "running", "count": 1}]
    assert body["monthlyRecurringRevenue"] == "40.00"
    assert body["billingSuccessRate"] == 100.0
    assert body["easypanel"]["reachable"] is True

    subs = await client.get(
        "/api/containers/admin/subscriptions?status=active", headers=admin.headers
    )
    assert len(subs.json()) == 2
    services = await client.get("/api/containers/admin/services?type=redis", headers=admin.headers)
    assert [(s["serviceName"], s["organizationName"]) for s in services.json()] == [
        ("db", "Test User's organization")
    ]
    none = await client.get("/api/containers/admin/services?type=app", headers=admin.headers)
    assert none.json() == []
    assert (
        await client.get("/api/containers/admin/overview", headers=alice.headers)
    ).status_code == 403
