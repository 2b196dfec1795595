"""The readiness check's view of the schema, read without Alembic, agrees with Alembic's."""

from __future__ import annotations

import asyncio

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from skypanel.kit.db import create_engine
from skypanel.kit.migrate import MIGRATIONS_DIR, current_revision, head_revision
from tests.conftest import create_database, drop_database


def test_the_head_is_alembics() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


async def test_a_migrated_database_is_at_alembics_revision(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        alembics = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    assert alembics == head_revision()
    assert await current_revision(engine) == alembics


def test_a_database_never_migrated_has_no_revision(server_url: str) -> None:
    url = create_database(server_url)
    try:

        async def read() -> str | None:
            engine = create_engine(url, pool_size=1, max_overflow=0)
            try:
                return await current_revision(engine)
            finally:
                await engine.dispose()

        assert asyncio.run(read()) is None
    finally:
        drop_database(server_url, url)
