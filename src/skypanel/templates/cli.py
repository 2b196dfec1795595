"""`skypanel templates sync` (also run by `skypanel migrate` and the demo)."""

from __future__ import annotations

from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.templates.catalog import SyncReport, sync_catalog


async def sync_templates(database_url: str) -> SyncReport:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await sync_catalog(session)
    finally:
        await engine.dispose()
