"""Lock order: a worker recording that a project was created or failed, and a customer deploying
into that project at the same moment, take their row locks in the same order (the subscription,
then the project), so neither is chosen as a deadlock's victim. Found by the soak test, where the
request lost and answered 500."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation
from skypanel.projects.operations import HANDLERS
from skypanel.services import service
from tests.support import (
    Account,
    Paused,
    services_url,
    subscribed,
    waiting_on_a_lock,
)


@pytest.mark.parametrize("effect", ["on_success", "on_failure"])
async def test_a_deploy_and_the_project_hooks_do_not_deadlock(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    live_account: Account,
    monkeypatch: pytest.MonkeyPatch,
    effect: str,
) -> None:
    await subscribed(live_client, committed, live_account)
    url = await services_url(live_client, live_account)
    async with committed() as session:
        operation = await session.scalar(
            select(EasypanelOperation).where(
                EasypanelOperation.organization_id == live_account.organization_id,
                EasypanelOperation.kind == "easypanel.project.create",
            )
        )
    assert operation is not None
    assert operation.payload.get("subscriptionId")
    hook = getattr(HANDLERS["easypanel.project.create"], effect)
    held = Paused(service.require_active, after=True)
    monkeypatch.setattr(service, "require_active", held)

    deploy = asyncio.create_task(
        live_client.post(
            f"{url}/app",
            headers=live_account.headers,
            json={"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}},
        )
    )

    async def record() -> None:
        async with transaction(committed) as session:
            await hook(session, await session.merge(operation))

    try:
        await asyncio.wait_for(held.reached.wait(), 10)
        recorded = asyncio.create_task(record())
        await waiting_on_a_lock(committed)
    finally:  # a failure above must not leave the deploy holding its lock
        held.release.set()
    answered, _ = await asyncio.wait_for(asyncio.gather(deploy, recorded), 30)
    assert answered.status_code == 202, answered.text
