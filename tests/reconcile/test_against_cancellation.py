"""Lock order: reconciliation writing back what it found and a customer cancelling at the same
moment take the organization's rows in the same order (its projects, then its services, each in
id order), so neither is chosen as a deadlock's victim. Before, cancellation marked the services
first and the projects after, the reverse of reconciliation."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.schemas import AppSpec, ImageSource
from skypanel.emulator import RunningEmulator
from skypanel.reconcile import repository
from skypanel.reconcile.service import reconcile
from tests.conftest import runner_of
from tests.reconcile.test_drift import EP, with_web_and_gone
from tests.support import Paused, waiting_on_a_lock


async def test_reconciliation_and_a_cancellation_do_not_deadlock(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await with_web_and_gone(live_client, committed, easypanel)
    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        await direct.create_app(
            EP, AppSpec(service_name="rogue", source=ImageSource(image="nginx"))
        )
        await direct.destroy_app(EP, "gone")
    paused = Paused(repository.lock_services, after=False)
    monkeypatch.setattr(repository, "lock_services", paused)

    reconciled = asyncio.create_task(reconcile(committed, runner_of(live_client).clients))
    cancelled = None
    try:
        await asyncio.wait_for(paused.reached.wait(), 10)  # the project to import into is locked
        cancelled = asyncio.create_task(
            live_client.delete(
                f"/api/containers/subscription?confirm={EP}", headers=account.headers
            )
        )
        await waiting_on_a_lock(committed)  # the cancellation waits on a row the write-back holds
    finally:  # a failure above must not leave the write-back holding its locks
        paused.release.set()
    report, answered = await asyncio.wait_for(asyncio.gather(reconciled, cancelled), 30)

    assert answered.status_code == 202, answered.text
    assert (report.imported, report.missing) == ([f"{EP}/rogue"], [f"{EP}/gone"])
    cancelled_after = answered.json()  # after the write-back: the imported service goes too
    assert (cancelled_after["projectsDeleted"], cancelled_after["servicesDeleted"]) == (1, 3)
    easypanel.controller.reset()
