"""Database backups over HTTP, against the emulator and a real S3-compatible server (moto)."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from tests.backups.conftest import STORAGE
from tests.backups.s3 import SECRET_KEY, S3Server
from tests.support import Account, count, services_url, subscribed


async def _database(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    account: Account,
    name: str = "main-db",
) -> tuple[str, str]:
    """A running postgres of the account's; returns (its backups URL, its Easypanel project)."""
    await subscribed(client, db, account)
    services = await services_url(client, account)
    created = await client.post(
        f"{services}/database",
        headers=account.headers,
        json={"serviceName": name, "type": "postgres"},
    )
    assert created.status_code == 202, created.text
    easypanel.controller.advance(10)
    project = services.split("/")[4]
    return f"{services}/{name}/backups", project


async def test_a_backup_lands_under_the_organizations_prefix_and_restores(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    admin: Account,
    alice: Account,
) -> None:
    backups, project = await _database(client, db, easypanel, alice)
    easypanel.controller.set_database_data(project, "main-db", "INSERT INTO orders VALUES (1);")

    started = await client.post(backups, headers=alice.headers)

    assert started.status_code == 202, started.text
    assert started.json()["state"] == "pending"
    assert started.json()["operation"]["kind"] == "easypanel.backup.run"
    [key] = s3.keys(storage)
    assert key.startswith(f"orgs/{alice.organization_id}/{project}/main-db/")
    listed = (await client.get(backups, headers=alice.headers)).json()
    assert listed["prefix"] == f"orgs/{alice.organization_id}/{project}/main-db"
    [backup] = listed["backups"]
    size = s3.client().head_object(Bucket=storage, Key=key)["ContentLength"]
    assert (backup["state"], backup["size"], backup["scheduled"]) == ("done", size, False)
    assert backup["finishedAt"] is not None
    assert await count(db, "backup_runs", state="done") == 1

    easypanel.controller.set_database_data(project, "main-db", "DROP TABLE orders;")
    refused = await client.post(
        f"{backups}/{backup['id']}/restore", headers=alice.headers, json={"confirm": "main"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "CONFIRMATION_MISMATCH"
    assert refused.json()["error"]["details"] == {"field": "confirm"}
    assert easypanel.controller.database_data(project, "main-db") == "DROP TABLE orders;"

    restored = await client.post(
        f"{backups}/{backup['id']}/restore", headers=alice.headers, json={"confirm": "main-db"}
    )

    assert restored.status_code == 202, restored.text
    assert restored.json()["operation"]["kind"] == "easypanel.backup.restore"
    assert (
        easypanel.controller.database_data(project, "main-db") == "INSERT INTO orders VALUES (1);"
    )
    shown = (await client.get(STORAGE, headers=admin.headers)).json()
    assert shown["secretLast4"] == SECRET_KEY[-4:]
    assert SECRET_KEY not in str(shown)
    assert shown["servers"] == 1
    async with db() as session:
        audited = await session.scalar(
            text(
                "SELECT string_agg(request_data::text, '') FROM easypanel_audit_log"
                " WHERE operation = 'storageProviders.s3.createProvider'"
            )
        )
        secret = await session.scalar(text("SELECT secret_encrypted FROM backup_storage"))
    assert audited is not None
    assert SECRET_KEY not in audited
    assert SECRET_KEY not in secret


async def test_a_backup_whose_file_is_gone_shows_as_failed(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, _ = await _database(client, db, easypanel, alice)
    await client.post(backups, headers=alice.headers)
    [backup] = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert backup["state"] == "done"
    [key] = s3.keys(storage)

    s3.client().delete_object(Bucket=storage, Key=key)

    [backup] = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert backup["state"] == "failed"
    assert backup["error"] == "The backup file is not in the storage"
    assert await count(db, "backup_runs", state="failed") == 1
    refused = await client.post(
        f"{backups}/{backup['id']}/restore", headers=alice.headers, json={"confirm": "main-db"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "BACKUP_NOT_RESTORABLE"


async def test_a_backup_that_easypanel_could_not_upload_is_failed_never_done(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, _ = await _database(client, db, easypanel, alice)
    s3.client().delete_bucket(Bucket=storage)

    await client.post(backups, headers=alice.headers)

    s3.bucket(storage)
    [backup] = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert backup["state"] == "failed"
    assert "Upload failed" in backup["error"]
    assert s3.keys(storage) == []


async def test_a_bad_schedule_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _database(client, db, easypanel, alice)

    for bad in ("61 * * * *", "every day", "* * * * * *"):
        refused = await client.put(
            f"{backups}/schedule",
            headers=alice.headers,
            json={"schedule": bad, "retention": 7, "enabled": True},
        )
        assert refused.status_code == 422, bad
        [problem] = refused.json()["error"]["details"]["fields"]
        assert problem["field"] == "schedule"
        assert "cron expression" in problem["message"]
    assert await count(db, "backup_schedules") == 0
    assert easypanel.controller.requests("databaseBackups.createDatabaseBackup") == []

    saved = await client.put(
        f"{backups}/schedule",
        headers=alice.headers,
        json={"schedule": "30 2 * * 1", "retention": 3, "enabled": True},
    )

    assert saved.status_code == 200, saved.text
    assert saved.json()["operation"]["kind"] == "easypanel.backup.schedule"
    [configured] = easypanel.controller.snapshot()["database_backups"].values()
    assert (configured["schedule"], configured["retention"], configured["enabled"]) == (
        "30 2 * * 1",
        3,
        True,
    )
    assert configured["storageProviderPath"] == f"orgs/{alice.organization_id}/{project}/main-db"
    listed = (await client.get(backups, headers=alice.headers)).json()
    assert listed["schedule"] == {
        "schedule": "30 2 * * 1",
        "retention": 3,
        "enabled": True,
        "operation": None,
    }


async def test_another_organization_cannot_see_run_or_restore_the_backups(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
    bob: Account,
) -> None:
    alices, alice_project = await _database(client, db, easypanel, alice)
    await client.post(alices, headers=alice.headers)
    [backup] = (await client.get(alices, headers=alice.headers)).json()["backups"]
    bobs, bob_project = await _database(client, db, easypanel, bob)

    assert (await client.get(alices, headers=bob.headers)).status_code == 404
    assert (await client.post(alices, headers=bob.headers)).status_code == 404
    assert (
        await client.put(
            f"{alices}/schedule",
            headers=bob.headers,
            json={"schedule": "0 3 * * *", "retention": 1, "enabled": True},
        )
    ).status_code == 404
    assert (
        await client.post(
            f"{alices}/{backup['id']}/restore", headers=bob.headers, json={"confirm": "main-db"}
        )
    ).status_code == 404
    through_own = await client.post(
        f"{bobs}/{backup['id']}/restore", headers=bob.headers, json={"confirm": "main-db"}
    )
    assert through_own.status_code == 404
    assert through_own.json()["error"]["code"] == "BACKUP_NOT_FOUND"
    assert (await client.get(bobs, headers=bob.headers)).json()["backups"] == []
    assert await count(db, "backup_runs") == 1

    await client.post(bobs, headers=bob.headers)

    alice_key, bob_key = sorted(
        s3.keys(storage), key=lambda k: not k.startswith(f"orgs/{alice.organization_id}/")
    )
    assert alice_key.startswith(f"orgs/{alice.organization_id}/{alice_project}/main-db/")
    assert bob_key.startswith(f"orgs/{bob.organization_id}/{bob_project}/main-db/")
    assert [
        b["id"] for b in (await client.get(alices, headers=alice.headers)).json()["backups"]
    ] == [backup["id"]]
