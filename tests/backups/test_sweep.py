"""The periodic sweep: scheduled runs recorded, retention applied, ended subscriptions' backups
deleted after `backup_retention_after_termination_days`, suspended ones left alone."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.backups.tasks import sweep
from skypanel.emulator import RunningEmulator
from tests.backups.s3 import S3Server
from tests.backups.test_backups import _database
from tests.conftest import runner_of
from tests.support import Account, count


async def _scheduled(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    account: Account,
    retention: int,
) -> tuple[str, str]:
    backups, project = await _database(client, db, easypanel, account)
    saved = await client.put(
        f"{backups}/schedule",
        headers=account.headers,
        json={"schedule": "0 * * * *", "retention": retention, "enabled": True},
    )
    assert saved.status_code == 200, saved.text
    return backups, project


async def _set_subscription(
    db: async_sessionmaker[AsyncSession], account: Account, sql: str
) -> None:
    async with db() as session:
        await session.execute(
            text(f"UPDATE container_subscriptions SET {sql} WHERE organization_id = :org"),
            {"org": account.organization_id},
        )
        await session.commit()


async def test_scheduled_runs_are_recorded_once_and_retention_deletes_the_oldest(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _scheduled(client, db, easypanel, alice, retention=2)
    keys = []
    for hour in range(3):
        [action] = easypanel.controller.run_scheduled_backups(project, "main-db")
        keys.append(action["meta"]["path"])
        easypanel.controller.advance(3600 + hour)
    assert s3.keys(storage) == sorted(keys)

    report = await sweep(db, runner_of(client).clients)

    assert (report.recorded, report.settled, report.expired) == (3, 3, 1)
    assert s3.keys(storage) == sorted(keys[1:])
    listed = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert [(b["state"], b["scheduled"]) for b in listed] == [("done", True), ("done", True)]
    again = await sweep(db, runner_of(client).clients)
    assert (again.recorded, again.expired) == (0, 0)
    assert await count(db, "backup_runs") == 3  # the expired one stays, so it is not recorded again
    assert len((await client.get(backups, headers=alice.headers)).json()["backups"]) == 2


async def test_suspended_subscriptions_keep_their_backups_and_record_no_new_runs(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _scheduled(client, db, easypanel, alice, retention=1)
    await client.post(backups, headers=alice.headers)
    await client.post(backups, headers=alice.headers)
    await _set_subscription(db, alice, "status = 'suspended', suspended_at = now()")
    easypanel.controller.run_scheduled_backups(project, "main-db")

    report = await sweep(db, runner_of(client).clients)

    assert (report.recorded, report.expired, report.terminated) == (0, 0, 0)
    assert len(s3.keys(storage)) == 3
    assert await count(db, "backup_runs") == 2


async def test_backups_of_an_ended_subscription_are_deleted_after_the_retention_days(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
    bob: Account,
) -> None:
    alices, _ = await _database(client, db, easypanel, alice)
    await client.post(alices, headers=alice.headers)
    bobs, _ = await _database(client, db, easypanel, bob)
    await client.post(bobs, headers=bob.headers)
    await _set_subscription(
        db, alice, "status = 'cancelled', cancelled_at = now() - interval '29 days'"
    )

    kept = await sweep(db, runner_of(client).clients)

    assert kept.terminated == 0
    assert len(s3.keys(storage)) == 2
    await _set_subscription(db, alice, "cancelled_at = now() - interval '31 days'")

    deleted = await sweep(db, runner_of(client).clients)

    assert deleted.terminated == 1
    [left] = s3.keys(storage)
    assert left.startswith(f"orgs/{bob.organization_id}/")
    assert await count(db, "backup_runs", organization_id=alice.organization_id) == 0
    assert await count(db, "backup_runs", organization_id=bob.organization_id) == 1
