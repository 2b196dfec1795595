"""Reconciliation while an organization moves: its projects exist on both servers for a while
(created on the target before the switch, removed from the source after it), and neither server
reports them as unknown."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ContainerProject, EasypanelServer, OrganizationMove
from skypanel.reconcile.service import reconcile
from tests.conftest import runner_of
from tests.support import Account, subscribed

EP = "test-user-s-organization"


async def test_the_projects_of_a_moving_organization_are_not_unknown_on_either_server(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    other = uuid.uuid4()
    async with db() as session:
        session.add(
            EasypanelServer(
                id=other,
                name="fra-9",
                api_url="http://127.0.0.1:9",
                api_key_encrypted="x",
                api_key_last4="xxxx",
                state="down",
                is_default=False,
            )
        )
        await session.flush()
        # The records say the project lives on the other server (the switch happened), while
        # this server still runs it until the move's cleanup.
        await session.execute(
            update(ContainerProject)
            .where(ContainerProject.organization_id == alice.organization_id)
            .values(server_id=other)
        )
        move = OrganizationMove(
            id=uuid.uuid4(),
            organization_id=alice.organization_id,
            source_server_id=server.id,
            target_server_id=other,
            state="running",
            steps_total=4,
        )
        session.add(move)
        await session.commit()
    clients = runner_of(client).clients
    during = await reconcile(db, clients)
    assert EP not in during.unknown_projects
    async with db() as session:
        await session.execute(
            update(OrganizationMove).where(OrganizationMove.id == move.id).values(state="failed")
        )
        await session.commit()
    after = await reconcile(db, clients)
    assert EP in after.unknown_projects
