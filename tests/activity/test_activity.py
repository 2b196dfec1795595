from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.kit.context import RequestContext, set_request
from tests.support import Account, TickingClock, clock_at, make_admin


async def test_activity_is_scoped_filtered_and_paginated(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, bob: Account
) -> None:
    with clock_at(TickingClock(datetime.now(UTC))):
        async with db() as session:
            for n in range(3):
                await record(
                    session,
                    "container.billing.charge",
                    f"Charge {n}",
                    organization_id=alice.organization_id,
                    metadata={"n": n},
                )
            await record(
                session, "container.billing.failed", "Failed", organization_id=alice.organization_id
            )
            await record(
                session, "container.billingx", "Not a child", organization_id=alice.organization_id
            )
            await record(
                session, "container.billing.charge", "Bob's", organization_id=bob.organization_id
            )
            await session.commit()

    mine = await client.get("/api/activity?type=container.billing&limit=3", headers=alice.headers)
    assert mine.status_code == 200
    assert [e["message"] for e in mine.json()["items"]] == ["Failed", "Charge 2", "Charge 1"]
    more = await client.get(
        f"/api/activity?type=container.billing&limit=3&cursor={mine.json()['nextCursor']}",
        headers=alice.headers,
    )
    assert [e["message"] for e in more.json()["items"]] == ["Charge 0"]
    assert more.json()["nextCursor"] is None
    assert more.json()["items"][0]["metadata"] == {"n": 0}

    exact = await client.get("/api/activity?type=container.billing.failed", headers=alice.headers)
    assert [e["message"] for e in exact.json()["items"]] == ["Failed"]

    theirs = await client.get("/api/activity", headers=alice.acting_in(bob.organization_id))
    assert theirs.status_code == 404


async def test_activity_time_filter(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = await client.get("/api/activity", params={"since": future}, headers=alice.headers)
    assert response.json()["items"] == []
    response = await client.get("/api/activity", params={"until": future}, headers=alice.headers)
    assert {e["eventType"] for e in response.json()["items"]} == {
        "auth.register",
        "organization.create",
    }


async def test_activity_records_the_request_origin(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    created = await client.post(
        "/api/organizations",
        headers={**alice.headers, "User-Agent": "pytest-agent/1.0", "X-Request-Id": "req-origin-1"},
        json={"name": "Traced"},
    )
    response = await client.get(
        "/api/activity?type=organization.create", headers=alice.acting_in(created.json()["id"])
    )
    [entry] = response.json()["items"]
    assert entry["message"] == "Organization Traced created"
    assert entry["ipAddress"] == "203.0.113.7"
    assert entry["userAgent"] == "pytest-agent/1.0"
    assert entry["requestId"] == "req-origin-1"
    assert entry["userId"] == str(alice.user_id)


async def test_admins_see_all_activity_and_users_do_not(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, bob: Account
) -> None:
    assert (await client.get("/api/admin/activity", headers=alice.headers)).status_code == 403
    admin = await make_admin(client, db)
    everything = await client.get(
        "/api/admin/activity?type=auth.register&limit=200", headers=admin.headers
    )
    organizations = {e["organizationId"] for e in everything.json()["items"]}
    assert {str(alice.organization_id), str(bob.organization_id)} <= organizations
    one = await client.get(
        f"/api/admin/activity?organizationId={bob.organization_id}", headers=admin.headers
    )
    assert {e["organizationId"] for e in one.json()["items"]} == {str(bob.organization_id)}


async def test_record_outside_a_request_has_no_origin(db: async_sessionmaker[AsyncSession]) -> None:
    set_request(None)
    async with db() as session:
        entry = await record(session, "system.check", "From a job")
    assert (entry.ip_address, entry.request_id) == (None, None)
    set_request(RequestContext(request_id="job-1"))
    async with db() as session:
        entry = await record(session, "system.check", "From a job")
    set_request(None)
    assert entry.request_id == "job-1"
