"""`skypanel demo` makes its S3 stand-in the backup storage, and a later start's stand-in
replaces it, but never a storage an administrator set up."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.demo import seed_demo
from skypanel.emulator import RunningEmulator
from skypanel.models import BackupStorage
from skypanel.standins.s3 import running_s3
from tests.support import count


async def _storage(sessions: async_sessionmaker[AsyncSession]) -> BackupStorage | None:
    async with sessions() as session:
        found: BackupStorage | None = await session.scalar(select(BackupStorage))
        return found


async def test_the_demo_uses_its_s3_stand_in_for_backups(
    committed: async_sessionmaker[AsyncSession], database_url: str, easypanel: RunningEmulator
) -> None:
    with running_s3() as first:
        await seed_demo(database_url, easypanel, first)
    stored = await _storage(committed)
    assert stored is not None
    assert (stored.endpoint, stored.bucket) == (first.endpoint, "skypanel-backups")
    # Registered on the emulator by the demo's worker (the seed only records the operation).
    assert await count(committed, "easypanel_operations", kind="easypanel.backup.storage") == 1

    with running_s3() as second:
        await seed_demo(database_url, easypanel, second)
        again = await _storage(committed)
        assert again is not None
        assert again.endpoint == second.endpoint
        async with committed() as session:
            await session.execute(
                update(BackupStorage).values(endpoint="https://s3.example.com", bucket="real")
            )
            await session.commit()
        await seed_demo(database_url, easypanel, second)
    kept = await _storage(committed)
    assert kept is not None
    assert (kept.endpoint, kept.bucket) == ("https://s3.example.com", "real")
