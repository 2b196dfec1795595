"""Run Alembic programmatically and tell whether a database is at the head revision.

Alembic is imported only to migrate (the CLI, the tests). The readiness check of the web process
reads the head from the migration files and the current revision from the version table without
it: Alembic brings Mako and Pygments along, ~10 MB resident in every web process (issue 17).
"""

from __future__ import annotations

import ast
import asyncio
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version"
"""Alembic's default, which `migrations/env.py` keeps."""


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Blocking: call from a thread when an event loop is running."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, database_url)


@cache
def head_revision() -> str | None:
    """The head of SkyPanel's migrations; they do not change while a process runs."""
    return head_of(MIGRATIONS_DIR / "versions")


def head_of(versions: Path) -> str | None:
    """The one revision no migration in `versions` revises (what Alembic calls the head).
    Several heads are a broken history: raise, as Alembic's `get_current_head` does."""
    revised: set[str] = set()
    revisions: set[str] = set()
    for path in versions.glob("*.py"):
        names = _revision_names(path)
        if "revision" not in names:
            continue  # not a migration (an `__init__.py`, a helper), as Alembic skips them
        revisions.add(names["revision"])
        down = names.get("down_revision")
        revised.update([down] if isinstance(down, str) else down or ())
    heads = revisions - revised
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}")
    return next(iter(heads), None)


def _revision_names(path: Path) -> dict[str, Any]:
    """What a migration file assigns to `revision` and `down_revision` (literals, as Alembic's
    template writes them)."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in ("revision", "down_revision") and value is not None:
            found[name] = ast.literal_eval(value)
    return found


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None before the first migration."""
    async with engine.connect() as connection:
        if await connection.scalar(text(f"SELECT to_regclass('{VERSION_TABLE}')")) is None:
            return None
        rows = (await connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
    if len(rows) > 1:
        raise RuntimeError(f"the database is at several revisions: {sorted(rows)}")
    return rows[0] if rows else None
