"""Lock order: an admin cancelling a pending provisioning operation while its organization cancels
the subscription. The customer's cancellation holds the subscription, then cancels the pending
provisioning; the admin's cancel runs the operation's failure hook, which locks the same
subscription. Taken the other way round (the operation, then the subscription) the two
deadlock, and PostgreSQL ends one of them with an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelOperation
from skypanel.subscriptions import cancellation
from tests.support import (
    Account,
    Paused,
    customer_logins_on,
    live_customer,
    make_admin,
    subscribed,
    waiting_on_a_lock,
)

OPERATIONS = "/api/containers/admin/operations"


@pytest.fixture
async def customer(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> AsyncIterator[Account]:
    async with live_customer(live_client, committed, easypanel, 100_000) as account:
        yield account


@pytest.mark.parametrize(
    ("kind", "procedure"),
    [
        ("easypanel.project.create", "projects.createProject"),
        ("easypanel.user.create", "users.createUser"),
    ],
)
async def test_an_admin_cancel_and_the_customers_cancellation_do_not_deadlock(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    customer: Account,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    procedure: str,
) -> None:
    await customer_logins_on(committed)
    easypanel.controller.fail(procedure, times=10, status=503)
    await subscribed(live_client, committed, customer)
    admin = await make_admin(live_client, committed)
    async with committed() as session:
        operation = await session.scalar(
            select(EasypanelOperation.id).where(
                EasypanelOperation.organization_id == customer.organization_id,
                EasypanelOperation.kind == kind,
                EasypanelOperation.status == "pending",
            )
        )
        slug = await session.scalar(
            text("SELECT slug FROM organizations WHERE id = :id"), {"id": customer.organization_id}
        )
    assert operation is not None
    held = Paused(cancellation._stop_provisioning, after=False)
    monkeypatch.setattr(cancellation, "_stop_provisioning", held)

    cancelled = asyncio.create_task(
        live_client.delete(f"/api/containers/subscription?confirm={slug}", headers=customer.headers)
    )
    try:
        await asyncio.wait_for(held.reached.wait(), 10)
        by_admin = asyncio.create_task(
            live_client.post(f"{OPERATIONS}/{operation}/cancel", headers=admin.headers)
        )
        await waiting_on_a_lock(committed)
    finally:  # a failure above must not leave the cancellation holding its locks
        held.release.set()
    answered, admin_answered = await asyncio.wait_for(asyncio.gather(cancelled, by_admin), 30)

    assert answered.status_code == 202, answered.text
    # The customer's cancellation cancelled the operation first; the admin is told so.
    assert admin_answered.status_code == 409, admin_answered.text
    assert admin_answered.json()["error"]["code"] == "OPERATION_STATE"
    async with committed() as session:
        status = await session.scalar(
            select(EasypanelOperation.status).where(EasypanelOperation.id == operation)
        )
    assert status == "cancelled"
