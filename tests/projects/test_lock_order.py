"""Lock order: a worker recording that a project was created or failed, and a customer deploying
into that project at the same moment, take their row locks in the same order (the subscription,
then the project), so neither is chosen as a deadlock's victim. Found by the soak test, where the
request lost and answered 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation
from skypanel.projects.operations import HANDLERS
from skypanel.services import service
from tests.support import Account, live_customer, services_url, subscribed

WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


class Held:
    """Stands in for the deploy's `require_active`: the first call holds the subscription's lock
    (the real one took it) until released."""

    def __init__(self, real: Callable[..., Awaitable[Any]]) -> None:
        self.real = real
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, session: AsyncSession, *args: Any) -> Any:
        subscription = await self.real(session, *args)
        if not self.reached.is_set():
            self.reached.set()
            await self.release.wait()
        return subscription


@pytest.fixture
async def customer(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> AsyncIterator[Account]:
    async with live_customer(live_client, committed, easypanel, 100_000) as account:
        await subscribed(live_client, committed, account)
        yield account


async def _waiting(committed: async_sessionmaker[AsyncSession]) -> None:
    """Until some transaction of the test database waits for a row lock."""
    for _ in range(100):
        async with committed() as session:
            if await session.scalar(text(WAITING_ON_A_LOCK)):
                return
        await asyncio.sleep(0.05)
    pytest.fail("the worker's hook never waited for a lock")


@pytest.mark.parametrize("effect", ["on_success", "on_failure"])
async def test_a_deploy_and_the_project_hooks_do_not_deadlock(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    customer: Account,
    monkeypatch: pytest.MonkeyPatch,
    effect: str,
) -> None:
    url = await services_url(live_client, customer)
    async with committed() as session:
        operation = await session.scalar(
            select(EasypanelOperation).where(
                EasypanelOperation.organization_id == customer.organization_id,
                EasypanelOperation.kind == "easypanel.project.create",
            )
        )
    assert operation is not None
    assert operation.payload.get("subscriptionId")
    hook = getattr(HANDLERS["easypanel.project.create"], effect)
    held = Held(service.require_active)
    monkeypatch.setattr(service, "require_active", held)

    deploy = asyncio.create_task(
        live_client.post(
            f"{url}/app",
            headers=customer.headers,
            json={"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}},
        )
    )
    await asyncio.wait_for(held.reached.wait(), 10)

    async def record() -> None:
        async with transaction(committed) as session:
            await hook(session, await session.merge(operation))

    recorded = asyncio.create_task(record())
    await _waiting(committed)
    held.release.set()
    answered, _ = await asyncio.wait_for(asyncio.gather(deploy, recorded), 30)
    assert answered.status_code == 202, answered.text
