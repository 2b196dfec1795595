"""Lock order: an admin cancelling a provisioning operation while its organization cancels the
subscription, or while a worker records the operation's outcome. The customer's cancellation
holds the subscription, then cancels the pending provisioning; the admin's cancel runs the
operation's failure hook, which locks the same subscription. Taken the other way round (the
operation, then the subscription) the two deadlock, and PostgreSQL ends one of them with an
error. A worker recording an outcome holds the operation and then locks the subscription, so
the admin's cancel, which now holds the subscription, must not wait for the operation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelOperation
from skypanel.subscriptions import cancellation
from tests.conftest import runner_of
from tests.support import (
    Account,
    Paused,
    clock_at,
    customer_logins_on,
    make_admin,
    subscribed,
    waiting_on_a_lock,
)

OPERATIONS = "/api/containers/admin/operations"


async def _pending(
    sessions: async_sessionmaker[AsyncSession], account: Account, kind: str
) -> uuid.UUID:
    async with sessions() as session:
        operation = await session.scalar(
            select(EasypanelOperation.id).where(
                EasypanelOperation.organization_id == account.organization_id,
                EasypanelOperation.kind == kind,
                EasypanelOperation.status == "pending",
            )
        )
    assert operation is not None
    return operation


async def _status(sessions: async_sessionmaker[AsyncSession], operation: uuid.UUID) -> str | None:
    async with sessions() as session:
        return await session.scalar(
            select(EasypanelOperation.status).where(EasypanelOperation.id == operation)
        )


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
    live_account: Account,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    procedure: str,
) -> None:
    await customer_logins_on(committed)
    easypanel.controller.fail(procedure, times=10, status=503)
    await subscribed(live_client, committed, live_account)
    admin = await make_admin(live_client, committed)
    operation = await _pending(committed, live_account, kind)
    async with committed() as session:
        slug = await session.scalar(
            text("SELECT slug FROM organizations WHERE id = :id"),
            {"id": live_account.organization_id},
        )
    held = Paused(cancellation._stop_provisioning, after=False)
    monkeypatch.setattr(cancellation, "_stop_provisioning", held)

    cancelling = f"/api/containers/subscription?confirm={slug}"
    cancelled = asyncio.create_task(live_client.delete(cancelling, headers=live_account.headers))
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
    assert await _status(committed, operation) == "cancelled"


async def test_an_admin_cancel_does_not_wait_for_a_worker_recording_the_outcome(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    live_account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await customer_logins_on(committed)
    easypanel.controller.fail("users.createUser", times=1, status=503)
    await subscribed(live_client, committed, live_account)
    admin = await make_admin(live_client, committed)
    operation = await _pending(committed, live_account, "easypanel.user.create")
    runner = runner_of(live_client)
    # The worker's delivery succeeded; it holds the operation to record that.
    held = Paused(runner._own, after=True)
    monkeypatch.setattr(runner, "_own", held)

    with clock_at(lambda: datetime.now(UTC) + timedelta(minutes=10)):
        delivered = asyncio.create_task(runner.run_due())
        try:
            await asyncio.wait_for(held.reached.wait(), 10)
            by_admin = asyncio.create_task(
                live_client.post(f"{OPERATIONS}/{operation}/cancel", headers=admin.headers)
            )
            done, _ = await asyncio.wait({by_admin}, timeout=10)
        finally:  # a failure above must not leave the worker holding its lock
            held.release.set()
        await asyncio.wait_for(delivered, 30)
    answered = await asyncio.wait_for(by_admin, 30)

    assert done, "the admin's cancel waited for the worker"
    assert answered.status_code == 409, answered.text
    assert answered.json()["error"]["code"] == "OPERATION_STATE"
    assert await _status(committed, operation) == "succeeded"
