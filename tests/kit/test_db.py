"""The engine's pooled connections: checked before each use in one round trip, and replaced when
PostgreSQL has ended them."""

from __future__ import annotations

import asyncio

from asyncpg.connection import LoggedQuery  # type: ignore[import-untyped]
from sqlalchemy import text

from skypanel.config import Settings
from skypanel.kit.db import create_engine


async def test_a_pooled_connection_is_checked_in_one_round_trip_and_replaced_once_ended(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    sent: list[str] = []

    def logged(record: LoggedQuery) -> None:
        sent.append(record.query)

    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
            raw = await connection.get_raw_connection()
            raw.driver_connection.add_query_logger(logged)
        sent.clear()
        async with engine.connect() as connection:
            await asyncio.sleep(0)  # asyncpg tells its query loggers on the next loop turn
            assert sent == ["SELECT 1"]
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == first
        other_engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
        try:
            async with other_engine.connect() as admin:
                ended = await admin.scalar(
                    text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first}
                )
            assert ended is True
        finally:
            await other_engine.dispose()
        async with engine.connect() as connection:
            replaced = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert replaced not in (None, first)
    finally:
        await engine.dispose()
