"""The readiness check's view of the schema, read without Alembic, agrees with Alembic's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from skypanel.kit.db import create_engine
from skypanel.kit.migrate import MIGRATIONS_DIR, current_revision, head_of, head_revision
from tests.conftest import create_database, drop_database


def test_the_head_is_alembics() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _migration(versions: Path, revision: str, down: str | tuple[str, ...] | None) -> None:
    (versions / f"{revision}.py").write_text(
        f"revision: str = {revision!r}\ndown_revision = {down!r}\n"
    )


def test_a_merge_has_one_head_a_branch_two_and_other_files_are_not_migrations(
    tmp_path: Path,
) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "helpers.py").write_text("SHARED = 1\n")
    _migration(tmp_path, "a1", None)
    _migration(tmp_path, "b1", "a1")
    _migration(tmp_path, "c1", "a1")
    with pytest.raises(RuntimeError, match="several heads"):
        head_of(tmp_path)
    _migration(tmp_path, "d1", ("b1", "c1"))
    assert head_of(tmp_path) == "d1"


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
