"""Volume backups of apps over HTTP, against the emulator and a real S3-compatible server (moto):
schedule and run per volume mount, state read from the bucket, download through a presigned
link, delete, tenancy, and the sweep's retention and termination rules."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.backups.tasks import sweep
from skypanel.emulator import RunningEmulator, _h_backups
from tests.backups.s3 import S3Server
from tests.backups.test_sweep import _set_subscription
from tests.conftest import runner_of
from tests.support import Account, count, services_url, subscribed

MOUNTS = [{"name": "data", "mountPath": "/data"}, {"name": "uploads", "mountPath": "/srv/up"}]
SCHEDULE = {"schedule": "0 4 * * *", "retention": 2, "enabled": True}


async def _app(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    account: Account,
) -> tuple[str, str]:
    """A running app of the account's with two volumes; returns (its backups URL, its project)."""
    await subscribed(client, db, account)
    services = await services_url(client, account)
    created = await client.post(
        f"{services}/app",
        headers=account.headers,
        json={
            "serviceName": "web",
            "source": {"type": "image", "image": "nginx"},
            "mounts": MOUNTS,
        },
    )
    assert created.status_code == 202, created.text
    easypanel.controller.advance(30)
    return f"{services}/web/backups", services.split("/")[4]


def _fill(easypanel: RunningEmulator, project: str, volume: str, content: str) -> None:
    world = easypanel.controller.world
    with world.lock:
        world.service(project, "web").setdefault("_volumes", {})[volume] = content


def _run_scheduled(easypanel: RunningEmulator, project: str) -> list[str]:
    """Easypanel runs the app's enabled volume backups as their schedule would; their keys."""
    world = easypanel.controller.world
    with world.lock:
        actions = [
            _h_backups.run_volume(world, backup, by_api=False)
            for backup in list(world.state.volume_backups.values())
            if (backup["projectName"], backup["serviceName"]) == (project, "web")
            and backup["enabled"]
        ]
    return [action["meta"]["path"] for action in actions]


async def test_a_volume_is_scheduled_backed_up_under_the_prefix_and_downloaded(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _app(client, db, easypanel, alice)
    prefix = f"orgs/{alice.organization_id}/{project}/web/volumes/data"
    _fill(easypanel, project, "data", "the app's files")

    saved = await client.put(
        f"{backups}/volumes/data/schedule", headers=alice.headers, json=SCHEDULE
    )

    assert saved.status_code == 200, saved.text
    assert saved.json()["operation"]["kind"] == "easypanel.backup.schedule"
    [configured] = easypanel.controller.snapshot()["volume_backups"].values()
    assert (configured["volumeName"], configured["schedule"], configured["enabled"]) == (
        "data",
        "0 4 * * *",
        True,
    )
    assert configured["storageProviderPath"] == prefix

    started = await client.post(f"{backups}/volumes/data", headers=alice.headers)

    assert started.status_code == 202, started.text
    assert (started.json()["state"], started.json()["kind"]) == ("pending", "volume")
    [key] = s3.keys(storage)
    assert key.startswith(f"{prefix}/")
    assert key.endswith(".tar.gz")
    listed = (await client.get(backups, headers=alice.headers)).json()
    assert listed["schedule"] is None
    assert listed["volumes"] == [
        {
            "volume": "data",
            "mountPath": "/data",
            "prefix": prefix,
            "schedule": {
                "schedule": "0 4 * * *",
                "retention": 2,
                "enabled": True,
                "operation": None,
            },
        },
        {
            "volume": "uploads",
            "mountPath": "/srv/up",
            "prefix": f"orgs/{alice.organization_id}/{project}/web/volumes/uploads",
            "schedule": None,
        },
    ]
    [backup] = listed["backups"]
    stored = s3.client().get_object(Bucket=storage, Key=key)["Body"].read()
    assert (backup["kind"], backup["volume"], backup["databaseName"]) == ("volume", "data", None)
    assert (backup["state"], backup["size"]) == ("done", len(stored))

    asked = datetime.now(UTC)
    download = await client.get(f"{backups}/{backup['id']}/download", headers=alice.headers)

    assert download.status_code == 200, download.text
    link = download.json()
    query = parse_qs(urlsplit(link["url"]).query)
    assert urlsplit(link["url"]).path == f"/{storage}/{key}"
    assert query["X-Amz-Expires"] == ["900"]
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = datetime.fromisoformat(link["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (signed + timedelta(seconds=900))) < timedelta(seconds=5)
    assert timedelta(minutes=14) < expires - asked <= timedelta(minutes=15, seconds=5)
    async with httpx.AsyncClient() as outside:
        fetched = await outside.get(link["url"])
    assert fetched.status_code == 200
    assert fetched.content == stored
    assert gzip.decompress(fetched.content) == b"the app's files"


async def test_a_volume_backup_whose_file_is_gone_is_failed_and_a_deleted_one_leaves_the_bucket(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, _ = await _app(client, db, easypanel, alice)
    await client.post(f"{backups}/volumes/data", headers=alice.headers)
    [lost_key] = s3.keys(storage)
    await client.post(f"{backups}/volumes/uploads", headers=alice.headers)
    [kept_key] = [k for k in s3.keys(storage) if k != lost_key]
    lost, kept = sorted(
        (await client.get(backups, headers=alice.headers)).json()["backups"],
        key=lambda b: b["volume"] != "data",
    )

    s3.client().delete_object(Bucket=storage, Key=lost_key)

    listed = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert {b["id"]: (b["state"], b["error"]) for b in listed} == {
        lost["id"]: ("failed", "The backup file is not in the storage"),
        kept["id"]: ("done", None),
    }
    refused = await client.get(f"{backups}/{lost['id']}/download", headers=alice.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "BACKUP_NOT_DOWNLOADABLE"

    deleted = await client.delete(f"{backups}/{kept['id']}", headers=alice.headers)

    assert deleted.status_code == 204, deleted.text
    assert kept_key not in s3.keys(storage)
    assert [
        b["id"] for b in (await client.get(backups, headers=alice.headers)).json()["backups"]
    ] == [lost["id"]]
    gone = await client.get(f"{backups}/{kept['id']}/download", headers=alice.headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "BACKUP_NOT_FOUND"


async def test_a_bad_schedule_or_an_unknown_volume_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    storage: str,
    alice: Account,
) -> None:
    backups, _ = await _app(client, db, easypanel, alice)

    for bad in ("61 * * * *", "nightly", "* * * * * *"):
        refused = await client.put(
            f"{backups}/volumes/data/schedule",
            headers=alice.headers,
            json=SCHEDULE | {"schedule": bad},
        )
        assert refused.status_code == 422, bad
        [problem] = refused.json()["error"]["details"]["fields"]
        assert problem["field"] == "schedule"
        assert "cron expression" in problem["message"]
    unknown = await client.put(
        f"{backups}/volumes/cache/schedule", headers=alice.headers, json=SCHEDULE
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "VOLUME_NOT_FOUND"
    assert unknown.json()["error"]["details"] == {"field": "volume"}
    database_route = await client.post(backups, headers=alice.headers)
    assert database_route.status_code == 422
    assert database_route.json()["error"]["code"] == "BACKUPS_NOT_SUPPORTED"
    assert await count(db, "backup_schedules") == 0
    assert await count(db, "backup_runs") == 0
    assert easypanel.controller.requests("volumeBackups.createVolumeBackup") == []


async def test_another_organization_gets_404_and_keeps_its_own_prefix(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
    bob: Account,
) -> None:
    alices, alice_project = await _app(client, db, easypanel, alice)
    await client.post(f"{alices}/volumes/data", headers=alice.headers)
    [backup] = (await client.get(alices, headers=alice.headers)).json()["backups"]
    [alice_key] = s3.keys(storage)
    bobs, bob_project = await _app(client, db, easypanel, bob)

    denied = [
        await client.get(alices, headers=bob.headers),
        await client.post(f"{alices}/volumes/data", headers=bob.headers),
        await client.put(f"{alices}/volumes/data/schedule", headers=bob.headers, json=SCHEDULE),
        await client.get(f"{alices}/{backup['id']}/download", headers=bob.headers),
        await client.delete(f"{alices}/{backup['id']}", headers=bob.headers),
    ]
    through_own = [
        await client.get(f"{bobs}/{backup['id']}/download", headers=bob.headers),
        await client.delete(f"{bobs}/{backup['id']}", headers=bob.headers),
    ]

    assert [r.status_code for r in denied + through_own] == [404] * 7
    assert [r.json()["error"]["code"] for r in through_own] == ["BACKUP_NOT_FOUND"] * 2
    assert s3.keys(storage) == [alice_key]
    assert await count(db, "backup_runs") == 1
    assert (await client.get(bobs, headers=bob.headers)).json()["backups"] == []

    await client.post(f"{bobs}/volumes/data", headers=bob.headers)

    [bob_key] = [k for k in s3.keys(storage) if k != alice_key]
    assert alice_key.startswith(f"orgs/{alice.organization_id}/{alice_project}/web/volumes/data/")
    assert bob_key.startswith(f"orgs/{bob.organization_id}/{bob_project}/web/volumes/data/")


async def test_the_sweep_applies_retention_per_volume_and_deletes_after_termination(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _app(client, db, easypanel, alice)
    await client.put(f"{backups}/volumes/data/schedule", headers=alice.headers, json=SCHEDULE)
    await client.post(f"{backups}/volumes/uploads", headers=alice.headers)
    [manual] = s3.keys(storage)
    keys = []
    for hour in range(3):
        keys += _run_scheduled(easypanel, project)
        easypanel.controller.advance(3600 + hour)

    report = await sweep(db, runner_of(client).clients)

    assert (report.recorded, report.settled, report.expired) == (3, 4, 1)
    assert s3.keys(storage) == sorted([manual, *keys[1:]])
    listed = (await client.get(backups, headers=alice.headers)).json()["backups"]
    assert sorted((b["volume"], b["scheduled"], b["state"]) for b in listed) == [
        ("data", True, "done"),
        ("data", True, "done"),
        ("uploads", False, "done"),
    ]
    again = await sweep(db, runner_of(client).clients)
    assert (again.recorded, again.expired) == (0, 0)
    await _set_subscription(
        db, alice, "status = 'cancelled', cancelled_at = now() - interval '31 days'"
    )

    ended = await sweep(db, runner_of(client).clients)

    assert ended.terminated == 4
    assert s3.keys(storage) == []
    assert await count(db, "backup_runs") == 0
    async with db() as session:
        kinds = await session.scalar(
            text("SELECT count(*) FROM backup_schedules WHERE kind = 'volume'")
        )
    assert kinds == 1
