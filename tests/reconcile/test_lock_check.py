"""The lock check itself (`tests.locks`, the `no_locks_during_calls` fixture) can fail."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RunningEmulator
from tests.locks import watching
from tests.support import configure_server

LOCK = "SELECT id FROM easypanel_config FOR UPDATE"
WRITE = "UPDATE easypanel_config SET name = name"


async def test_calls_made_while_rows_are_locked_or_written_are_reported(
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    async with EasypanelClient(easypanel.base_url, easypanel.token, dialect="orpc") as direct:
        with watching(easypanel.controller, settings.database_url) as watch:
            async with committed() as session:
                locker = await session.scalar(text("SELECT pg_backend_pid()"))
                await session.execute(text("SELECT count(*) FROM easypanel_config"))
                await direct.list_projects()  # a read holds no row lock: not reported
                await session.execute(text(LOCK))
                await direct.list_projects()
                await session.rollback()
                writer = await session.scalar(text("SELECT pg_backend_pid()"))
                await session.execute(text(WRITE))
                await direct.list_users()
                await session.commit()
            await direct.list_projects()  # nothing is held any more
        async with committed() as session:
            await session.execute(text(LOCK))
            await direct.list_projects()  # the hook was removed with the block
            await session.rollback()

    assert [(o.procedure, o.pid, o.state, o.query) for o in watch.offenders] == [
        ("projects.listProjects", locker, "idle in transaction", LOCK),
        ("users.listUsers", writer, "idle in transaction", WRITE),
    ]
    assert watch.errors == []
    assert (
        watch.problems()
        .splitlines()[0]
        .startswith(
            f"Easypanel projects.listProjects was called while PostgreSQL session {locker} was"
            " idle in transaction holding locks (xid "
        )
    )
    assert len(easypanel.controller.requests()) == 5
    easypanel.controller.reset()
