"""Alembic environment: migrations over the async engine, with a lock timeout for live databases."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from skypanel.config import get_settings
from skypanel.kit.db import create_engine
from skypanel.models import Base

config = context.config
target_metadata = Base.metadata


def _ours(obj: object, name: str | None, type_: str, reflected: bool, _: object) -> bool:
    """Autogenerate leaves the job queue's tables (procrastinate's own schema) alone."""
    table = getattr(obj, "table", None)
    owner = table.name if table is not None else name
    return not (owner or "").startswith("procrastinate_")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_ours,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        connection.execute(text("SET LOCAL lock_timeout = '5s'"))
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline migrations are not supported; run `skypanel migrate`")
    url = config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise SystemExit("no database URL given to the migrations")
    asyncio.run(_run_async(url))


main()
