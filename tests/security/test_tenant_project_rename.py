"""A project whose name another owner holds on Easypanel is created as `<name>-2`, even when the
first attempt fails (the other owner's project is never taken for ours), and everything queued
for it before that was known follows it there (never into the other owner's project)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.conftest import runner_of
from tests.support import Account, clock_at, subscribed

TAKEN = "test-user-s-organization-shop"
"""What Easypanel would call alice's project `shop`; another owner holds it."""


async def _settle(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for minutes in (1, 3, 10, 30):
        with clock_at(lambda m=minutes: now + timedelta(minutes=m)):
            await runner_of(client).run_due()


@pytest.mark.parametrize("reported", [True, False], ids=["failed", "created-then-failed"])
async def test_services_queued_before_a_rename_land_in_the_renamed_project(
    reported: bool,
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    async with EasypanelClient(easypanel.base_url, easypanel.token) as someone_else:
        await someone_else.create_project(TAKEN)
    easypanel.controller.fail(
        "projects.createProject", times=1, status=503, after_effect=not reported
    )
    project = await client.post(
        "/api/containers/projects", headers=alice.headers, json={"projectName": "shop"}
    )
    assert project.status_code == 202, project.text
    app = await client.post(
        "/api/containers/projects/shop/services/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    assert app.status_code == 202, app.text
    await _settle(client)

    assert easypanel.controller.service(TAKEN, "web") is None
    assert easypanel.controller.service(f"{TAKEN}-2", "web") is not None
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT p.easypanel_project_name, s.swarm_name"
                    " FROM container_services s JOIN container_projects p ON p.id = s.project_id"
                    " WHERE s.service_name = 'web'"
                )
            )
        ).one()
    assert tuple(row) == (f"{TAKEN}-2", f"{TAKEN}-2_web")
    detail = await client.get("/api/containers/projects/shop/services/web", headers=alice.headers)
    assert detail.status_code == 200, detail.text
