"""While an admin moves an organization to another server, billing neither suspends nor resumes
it (the move stops and starts its apps itself; a start queued on the old server meanwhile would
let writes land where the move no longer reads): both wait for the first run after the move."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit.periods import add_months
from skypanel.models import ContainerSubscription, EasypanelServer, OrganizationMove
from tests.billing.helpers import bill_at, deploy_workload, subscribe_at
from tests.support import Account, credit, make_plan

ANCHOR = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


async def _status(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> str:
    async with db() as session:
        found = await session.scalar(
            select(ContainerSubscription.status).where(ContainerSubscription.organization_id == org)
        )
    assert found is not None
    return found


async def _moving(
    db: async_sessionmaker[AsyncSession], org: uuid.UUID, server: EasypanelServer
) -> uuid.UUID:
    move_id = uuid.uuid4()
    async with db() as session:
        session.add(
            OrganizationMove(
                id=move_id,
                organization_id=org,
                source_server_id=server.id,
                target_server_id=server.id,
                state="running",
                steps_total=3,
            )
        )
        await session.commit()
    return move_id


async def _done(db: async_sessionmaker[AsyncSession], move_id: uuid.UUID) -> None:
    async with db() as session:
        await session.execute(
            update(OrganizationMove).where(OrganizationMove.id == move_id).values(state="done")
        )
        await session.commit()


async def test_no_suspension_and_no_resumption_while_the_organization_moves(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    plan = await make_plan(db, price_cents=1000)
    await credit(db, org, 1000)
    await subscribe_at(client, alice, plan, ANCHOR)
    project, _ = await deploy_workload(easypanel, db, org)
    renewal = add_months(ANCHOR, 1)
    assert (await bill_at(client, db, renewal)).failed == 1
    assert await _status(db, org) == "past_due"

    move = await _moving(db, org, server)
    held = await bill_at(client, db, renewal + timedelta(days=4))
    assert held.suspended == 0
    assert await _status(db, org) == "past_due"
    assert easypanel.controller.tasks(project, "web") == (1, 1)

    await _done(db, move)
    suspended = await bill_at(client, db, renewal + timedelta(days=4, hours=1))
    assert suspended.suspended == 1
    assert await _status(db, org) == "suspended"
    assert easypanel.controller.tasks(project, "web")[0] == 0

    move = await _moving(db, org, server)
    await credit(db, org, 5000)
    waiting = await bill_at(client, db, renewal + timedelta(days=5))
    assert waiting.resumed == 0
    assert await _status(db, org) == "suspended"
    assert easypanel.controller.tasks(project, "web")[0] == 0

    await _done(db, move)
    resumed = await bill_at(client, db, renewal + timedelta(days=5, hours=1))
    assert resumed.resumed == 1
    assert await _status(db, org) == "active"
    assert easypanel.controller.tasks(project, "web")[0] == 1
