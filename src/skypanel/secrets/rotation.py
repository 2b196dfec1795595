from __future__ import annotations

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.crypto import SecretDecryptionError, SecretPlace, key_ring
from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.models import Base

BATCH = 500


def encrypted_columns() -> list[tuple[Table, Column[str]]]:
    """Every column declared with `info=ENCRYPTED`, in every table of the schema."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.info.get("encrypted")
    ]


async def rotate_column(session: AsyncSession, table: Table, column: Column[str]) -> int:
    """Re-encrypt one column's ciphertexts that are not under the primary key. Returns the count."""
    ring = key_ring()
    rotated = 0
    rows = await session.execute(
        select(table.c.id, column).where(column.is_not(None)).with_for_update()
    )
    for row_id, ciphertext in rows:
        if not ring.needs_rotation(ciphertext):
            continue
        place = SecretPlace(table.name, column.name, str(row_id))
        try:
            plaintext = ring.decrypt(ciphertext, place)
        except SecretDecryptionError as exc:
            raise SecretDecryptionError(
                f"{table.name}.{column.name} of row {row_id} does not decrypt: {exc}"
            ) from exc
        fresh = ring.encrypt(plaintext, place)
        await session.execute(
            update(table).where(table.c.id == row_id).values({column.name: fresh})
        )
        rotated += 1
    return rotated


async def rotate_all(database_url: str) -> dict[str, int]:
    """Each column in its own transaction; an undecryptable value stops and rolls back."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    counts: dict[str, int] = {}
    try:
        sessions = create_sessionmaker(engine)
        for table, column in encrypted_columns():
            async with transaction(sessions) as session:
                counts[f"{table.name}.{column.name}"] = await rotate_column(session, table, column)
    finally:
        await engine.dispose()
    return counts
