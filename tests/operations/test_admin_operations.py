"""Admins see the operations that did not succeed, retry them and cancel them."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"
OPERATIONS = "/api/containers/admin/operations"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx"}}


async def test_a_failed_operation_is_listed_with_its_reason_and_retried(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    admin: Account,
) -> None:
    await subscribed(client, db, alice)
    easypanel.controller.fail("services.app.createService", times=1, status=400, message="Bad")
    created = await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    assert created.status_code == 202

    assert (await client.get(OPERATIONS, headers=alice.headers)).status_code == 403
    failed = await client.get(f"{OPERATIONS}?status=failed", headers=admin.headers)
    assert failed.status_code == 200
    [item] = failed.json()["items"]
    assert (item["kind"], item["target"], item["attempts"]) == (
        "easypanel.app.create",
        f"{EP}/web",
        1,
    )
    assert item["lastErrorCode"] == "EASYPANEL_VALIDATION"
    assert item["organizationId"] == str(alice.organization_id)

    retried = await client.post(f"{OPERATIONS}/{item['id']}/retry", headers=admin.headers)
    assert (retried.status_code, retried.json()["status"]) == (200, "pending")
    assert easypanel.controller.service(EP, "web") is not None
    assert await count(db, "container_services", service_name="web", status="deploying") == 1
    again = await client.post(f"{OPERATIONS}/{item['id']}/retry", headers=admin.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "OPERATION_STATE")
    assert await count(db, "activity_logs", event_type="container.operation.retry") == 1


async def test_cancelling_a_pending_operation_says_so_on_its_service(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    admin: Account,
) -> None:
    await subscribed(client, db, alice)
    easypanel.controller.fail("services.app.createService", times=1, status=503)
    created = await client.post(f"{SERVICES}/app", headers=alice.headers, json=NGINX)
    operation = created.json()["operation"]["id"]
    pending = await client.get(f"{OPERATIONS}?status=pending", headers=admin.headers)
    assert [item["id"] for item in pending.json()["items"]] == [operation]

    cancelled = await client.post(f"{OPERATIONS}/{operation}/cancel", headers=admin.headers)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    service = (await client.get(f"{SERVICES}/web", headers=alice.headers)).json()
    assert service["status"] == "failed"
    assert service["lastError"] == "Creating the app failed: Cancelled by an administrator"
    assert easypanel.controller.service(EP, "web") is None
    missing = await client.post(
        f"{OPERATIONS}/00000000-0000-0000-0000-000000000000/cancel", headers=admin.headers
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "OPERATION_NOT_FOUND")
