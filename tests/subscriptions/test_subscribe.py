from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RunningEmulator
from skypanel.http.idempotency import purge_expired
from skypanel.models import EasypanelServer
from tests.conftest import runner_of
from tests.support import (
    Account,
    balance,
    clock_at,
    configure_server,
    count,
    credit,
    customer_logins_on,
    make_plan,
    register,
)


async def test_subscribe_charges_once_and_provisions_right_after(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await customer_logins_on(db)
    plan = await make_plan(db, price_cents=1999)
    await credit(db, alice.organization_id, 5000)
    response = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["provisioningStatus"] == "pending"
    assert body["billingCycle"]["amount"] == "19.99"
    assert body["billingCycle"]["status"] == "billed"
    [project] = body["projects"]
    assert project["status"] == "creating"
    assert project["easypanelProjectName"] == "test-user-s-organization"
    assert body["easypanelUser"]["ready"] is False
    assert body["meta"]["requestId"] == response.headers["X-Request-Id"]

    provisioned = (await client.get("/api/containers/subscription", headers=alice.headers)).json()
    assert provisioned["provisioningStatus"] == "ready"
    login = provisioned["easypanel"]
    assert login["email"] == "test-user-s-organization@customers.skypanel.invalid"
    assert login["ready"] is True
    listed = (await client.get("/api/containers/projects", headers=alice.headers)).json()
    assert [(p["projectName"], p["status"]) for p in listed] == [
        ("test-user-s-organization", "active")
    ]

    assert await balance(db, alice.organization_id) == 5000 - 1999
    state = easypanel.controller.snapshot()
    assert list(state["projects"]) == ["test-user-s-organization"]
    customers = [u["email"] for u in state["users"].values() if not u.get("admin")]
    assert customers == [login["email"]]
    assert easypanel.controller.access("test-user-s-organization") == [login["userId"]]
    assert await count(db, "easypanel_audit_log", organization_id=alice.organization_id) >= 3
    async with db() as session:
        audited = (
            await session.execute(
                text(
                    "SELECT request_data, response_status, resource_type FROM easypanel_audit_log"
                    " WHERE operation = 'users.createUser'"
                )
            )
        ).one()
    assert audited.request_data["email"] == login["email"]
    assert audited.request_data["password"] == "[redacted]"
    assert (audited.response_status, audited.resource_type) == (200, "user")

    current = await client.get("/api/containers/subscription", headers=alice.headers)
    assert current.json()["plan"]["id"] == str(plan)
    cycles = await client.get("/api/containers/billing/cycles", headers=alice.headers)
    assert [c["kind"] for c in cycles.json()["items"]] == ["initial"]


async def test_insufficient_balance_writes_nothing(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await customer_logins_on(db)
    plan = await make_plan(db, price_cents=1999)
    await credit(db, alice.organization_id, 1998)
    response = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert response.json()["error"]["details"] == {
        "required": "19.99",
        "available": "19.98",
        "currency": "USD",
    }
    org = alice.organization_id
    assert await balance(db, org) == 1998
    for table in ("container_subscriptions", "container_billing_cycles", "container_projects"):
        assert await count(db, table, organization_id=org) == 0
    assert await count(db, "easypanel_operations", organization_id=org) == 0
    assert await count(db, "payment_transactions", organization_id=org, kind="debit") == 0
    assert easypanel.controller.snapshot()["projects"] == {}


async def test_second_subscription_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 5000)
    first = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    second = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["error"]["code"] == "SUBSCRIPTION_EXISTS"
    assert await balance(db, alice.organization_id) == 4000


async def test_idempotency_key_replays_and_refuses_another_body(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db)
    other = await make_plan(db, name="Other")
    await credit(db, alice.organization_id, 5000)
    headers = {**alice.headers, "Idempotency-Key": "sub-1"}
    first = await client.post(
        "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
    )
    replay = await client.post(
        "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
    )
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    different = await client.post(
        "/api/containers/subscription", headers=headers, json={"planId": str(other)}
    )
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await balance(db, alice.organization_id) == 4000


async def test_failed_request_releases_its_idempotency_key(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db)
    headers = {**alice.headers, "Idempotency-Key": "sub-retry"}
    short = await client.post(
        "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
    )
    assert short.status_code == 402
    await credit(db, alice.organization_id, 1000)
    paid = await client.post(
        "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
    )
    assert paid.status_code == 201
    assert await balance(db, alice.organization_id) == 0


async def test_twenty_parallel_subscribes_with_one_key_charge_once(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> None:
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    account = await register(live_client)
    plan = await make_plan(committed, price_cents=700)
    await credit(committed, account.organization_id, 10_000)
    headers = {**account.headers, "Idempotency-Key": f"burst-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
            )
            for _ in range(20)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 409}
    ids = {r.json()["subscription"]["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert await balance(committed, account.organization_id) == 10_000 - 700
    assert (
        await count(
            committed, "payment_transactions", organization_id=account.organization_id, kind="debit"
        )
        == 1
    )
    assert list(easypanel.controller.snapshot()["projects"]) == ["test-user-s-organization"]
    easypanel.controller.reset()


async def test_subscribe_while_easypanel_is_down_retries_later(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 1000)
    easypanel.controller.fail("projects.createProject", times=3, status=503)
    easypanel.controller.fail("users.createUser", times=1, status=502)
    response = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["provisioningStatus"] == "pending"
    assert body["projects"][0]["status"] == "creating"
    assert easypanel.controller.snapshot()["projects"] == {}

    runner = runner_of(client)
    for minutes in (1, 3, 10, 30):
        with clock_at(lambda m=minutes: datetime.now(UTC) + timedelta(minutes=m)):
            await runner.run_due()
    current = await client.get("/api/containers/subscription", headers=alice.headers)
    assert current.json()["provisioningStatus"] == "ready"
    assert list(easypanel.controller.snapshot()["projects"]) == ["test-user-s-organization"]
    assert await balance(db, alice.organization_id) == 0
    assert await count(db, "container_billing_cycles", organization_id=alice.organization_id) == 1


async def test_project_name_taken_on_the_server_moves_to_a_suffix(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    async with EasypanelClient(easypanel.base_url, easypanel.token) as foreign:
        await foreign.create_project("test-user-s-organization")
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 1000)
    response = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert response.status_code == 201
    listed = await client.get("/api/containers/projects", headers=alice.headers)
    assert [p["easypanelProjectName"] for p in listed.json()] == ["test-user-s-organization-2"]
    assert sorted(easypanel.controller.snapshot()["projects"]) == [
        "test-user-s-organization",
        "test-user-s-organization-2",
    ]


async def test_subscribe_without_a_server_is_503_and_writes_nothing(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 1000)
    response = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "EASYPANEL_NOT_CONFIGURED"
    assert await balance(db, alice.organization_id) == 1000


async def test_idempotency_keys_expire_after_a_day(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 5000)
    headers = {**alice.headers, "Idempotency-Key": "old-key"}
    await client.post("/api/containers/subscription", headers=headers, json={"planId": str(plan)})
    assert await purge_expired(db) == 0
    with clock_at(lambda: datetime.now(UTC) + timedelta(hours=24, seconds=1)):
        assert await purge_expired(db) == 1
    assert await count(db, "easypanel_idempotency_keys") == 0


async def test_the_owner_can_reveal_the_easypanel_login_and_members_cannot(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await customer_logins_on(db)
    plan = await make_plan(db)
    await credit(db, alice.organization_id, 1000)
    await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    revealed = await client.get(
        "/api/containers/subscription/easypanel-login", headers=alice.headers
    )
    assert revealed.status_code == 200
    login = revealed.json()
    assert login["url"] == easypanel.base_url
    assert len(login["password"]) >= 20
    async with EasypanelClient(easypanel.base_url, easypanel.token) as direct:
        users = {u.email: u for u in await direct.list_users()}
    assert login["email"] in users
    assert (
        login["password"]
        not in (await client.get("/api/containers/subscription", headers=alice.headers)).text
    )

    await client.post(
        f"/api/organizations/{alice.organization_id}/members",
        headers=alice.headers,
        json={"email": bob.email, "role": "member"},
    )
    as_member = await client.get(
        "/api/containers/subscription/easypanel-login",
        headers=bob.acting_in(alice.organization_id),
    )
    assert as_member.status_code == 403
    assert await count(db, "activity_logs", event_type="container.subscription.reveal_login") == 1
