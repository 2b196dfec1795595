from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ActivityLog
from tests.support import Account

STARTER = {
    "name": "Starter",
    "description": "For small sites",
    "priceMonthly": "9.99",
    "maxCpuCores": 1,
    "maxMemoryGb": 2,
    "maxStorageGb": 20,
    "maxContainers": 5,
}


async def test_admin_creates_updates_and_lists_plans(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    created = await client.post("/api/containers/admin/plans", headers=admin.headers, json=STARTER)
    assert created.status_code == 201
    plan = created.json()
    assert plan["priceMonthly"] == "9.99"
    assert (
        plan["maxCpuCores"],
        plan["maxMemoryGb"],
        plan["maxStorageGb"],
        plan["maxContainers"],
    ) == (
        1.0,
        2.0,
        20,
        5,
    )
    pro = await client.post(
        "/api/containers/admin/plans",
        headers=admin.headers,
        json={**STARTER, "name": "Pro", "priceMonthly": "29.00", "maxCpuCores": "2.5"},
    )
    assert pro.json()["maxCpuCores"] == 2.5

    updated = await client.put(
        f"/api/containers/admin/plans/{plan['id']}",
        headers=admin.headers,
        json={"priceMonthly": "12.50", "maxContainers": 8},
    )
    assert updated.status_code == 200
    assert updated.json()["priceMonthly"] == "12.50"
    assert updated.json()["maxContainers"] == 8
    assert updated.json()["name"] == "Starter"

    public = await client.get("/api/containers/plans", headers=alice.headers)
    assert [p["name"] for p in public.json()] == ["Starter", "Pro"]

    async with db() as session:
        events = (
            await session.scalars(
                select(ActivityLog.event_type).where(ActivityLog.entity_id == plan["id"])
            )
        ).all()
    assert sorted(events) == ["container.plan.create", "container.plan.update"]


async def test_deactivated_plans_leave_the_public_list(
    client: httpx.AsyncClient, admin: Account, alice: Account
) -> None:
    plan = (
        await client.post("/api/containers/admin/plans", headers=admin.headers, json=STARTER)
    ).json()
    off = await client.post(
        f"/api/containers/admin/plans/{plan['id']}/deactivate", headers=admin.headers
    )
    assert off.json()["active"] is False
    assert (await client.get("/api/containers/plans", headers=alice.headers)).json() == []
    everything = await client.get("/api/containers/admin/plans", headers=admin.headers)
    assert [p["active"] for p in everything.json()] == [False]
    on = await client.post(
        f"/api/containers/admin/plans/{plan['id']}/activate", headers=admin.headers
    )
    assert on.json()["active"] is True
    assert len((await client.get("/api/containers/plans", headers=alice.headers)).json()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priceMonthly": "9.999"}, "priceMonthly"),
        ({"priceMonthly": 9.99}, "priceMonthly"),
        ({"maxCpuCores": 0}, "maxCpuCores"),
        ({"maxMemoryGb": -1}, "maxMemoryGb"),
        ({"maxStorageGb": 0}, "maxStorageGb"),
        ({"maxContainers": 1.5}, "maxContainers"),
        ({"name": ""}, "name"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_plan_validation_names_the_field(
    client: httpx.AsyncClient, admin: Account, change: dict[str, object], field: str
) -> None:
    response = await client.post(
        "/api/containers/admin/plans", headers=admin.headers, json={**STARTER, **change}
    )
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["details"]["fields"]] == [field]


async def test_negative_price_is_refused(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.post(
        "/api/containers/admin/plans",
        headers=admin.headers,
        json={**STARTER, "priceMonthly": "-1.00"},
    )
    assert response.status_code == 422
    assert (await client.get("/api/containers/admin/plans", headers=admin.headers)).json() == []


async def test_plan_admin_routes_need_an_admin(client: httpx.AsyncClient, alice: Account) -> None:
    for method, url in [
        ("GET", "/api/containers/admin/plans"),
        ("POST", "/api/containers/admin/plans"),
        ("PUT", "/api/containers/admin/plans/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/containers/admin/plans/00000000-0000-0000-0000-000000000000/activate"),
    ]:
        response = await client.request(method, url, headers=alice.headers, json=STARTER)
        assert response.status_code == 403, url


async def test_unknown_plan_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.put(
        "/api/containers/admin/plans/00000000-0000-0000-0000-000000000000",
        headers=admin.headers,
        json={"name": "X"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PLAN_NOT_FOUND"
