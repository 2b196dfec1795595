"""The "Backups" card of a database's and an app's page and the admin's storage page, as a browser
uses them."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import get_settings
from skypanel.emulator import RunningEmulator
from skypanel.web import cookies
from tests.backups.s3 import REGION, SECRET_KEY, S3Server
from tests.backups.test_backups import _database
from tests.backups.test_volumes import _app
from tests.support import Account, count


async def _browser(client: httpx.AsyncClient, account: Account) -> str:
    """Sign in through the web form; returns the CSRF token of the session."""
    await client.get("/login")
    token = cookies.csrf_token(get_settings(), client.cookies[cookies.CSRF], None)
    signed_in = await client.post(
        "/login",
        data={"email": account.email, "password": account.password, cookies.CSRF_FIELD: token},
    )
    assert signed_in.status_code == 303, signed_in.text
    return cookies.csrf_token(
        get_settings(), client.cookies[cookies.CSRF], client.cookies[cookies.SESSION]
    )


async def test_the_card_backs_up_schedules_and_restores_with_a_typed_confirmation(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, project = await _database(client, db, easypanel, alice)
    page = backups.removeprefix("/api/containers").removesuffix("/backups")
    easypanel.controller.set_database_data(project, "main-db", "v1")
    token = await _browser(client, alice)

    detail = await client.get(page)
    assert f'hx-get="{page}/backups"' in detail.text
    started = await client.post(f"{page}/backups/run", data={cookies.CSRF_FIELD: token})
    assert started.status_code == 303
    refused = await client.post(
        f"{page}/backups/schedule",
        data={cookies.CSRF_FIELD: token, "schedule": "not cron", "retention": "3"},
    )
    assert refused.status_code == 303
    saved = await client.post(
        f"{page}/backups/schedule",
        data={cookies.CSRF_FIELD: token, "schedule": "15 1 * * *", "retention": "4"},
    )
    assert saved.status_code == 303
    card = await client.get(f"{page}/backups")

    assert card.status_code == 200
    assert 'value="15 1 * * *"' in card.text
    assert 'name="enabled" checked' not in card.text
    [backup_id] = re.findall(r'data-backup="([0-9a-f-]+)"', card.text)
    assert "Done" in card.text
    assert await count(db, "backup_schedules", schedule="15 1 * * *", enabled=False) == 1
    easypanel.controller.set_database_data(project, "main-db", "v2")
    wrong = await client.post(
        f"{page}/backups/{backup_id}/restore", data={cookies.CSRF_FIELD: token, "confirm": "x"}
    )
    assert wrong.status_code == 303
    assert easypanel.controller.database_data(project, "main-db") == "v2"
    right = await client.post(
        f"{page}/backups/{backup_id}/restore",
        data={cookies.CSRF_FIELD: token, "confirm": "main-db"},
    )
    assert right.status_code == 303
    assert easypanel.controller.database_data(project, "main-db") == "v1"


async def test_the_admin_sets_the_storage_on_its_page(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    s3: S3Server,
    bucket: str,
    admin: Account,
    easypanel: RunningEmulator,
    server: object,
) -> None:
    token = await _browser(client, admin)
    form = {
        cookies.CSRF_FIELD: token,
        "endpoint": s3.endpoint,
        "region": REGION,
        "bucket": bucket,
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": SECRET_KEY,
    }

    saved = await client.post("/admin/backups", data=form)

    assert saved.status_code == 303
    shown = await client.get("/admin/backups")
    assert shown.status_code == 200
    assert bucket in shown.text
    assert SECRET_KEY not in shown.text
    assert "Registered on</dt><dd>1 Easypanel server<" in shown.text
    [provider] = easypanel.controller.snapshot()["storage_providers"].values()
    assert (provider["bucket"], provider["endpoint"]) == (bucket, s3.endpoint)
    assert await count(db, "backup_storage_servers") == 1


async def test_an_apps_card_has_a_section_per_volume_and_restores_by_download(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    s3: S3Server,
    storage: str,
    alice: Account,
) -> None:
    backups, _ = await _app(client, db, easypanel, alice)
    page = backups.removeprefix("/api/containers").removesuffix("/backups")
    token = await _browser(client, alice)

    detail = await client.get(page)
    assert f'hx-get="{page}/backups"' in detail.text
    saved = await client.post(
        f"{page}/backups/volumes/uploads/schedule",
        data={
            cookies.CSRF_FIELD: token,
            "schedule": "15 1 * * *",
            "retention": "4",
            "enabled": "on",
        },
    )
    assert saved.status_code == 303
    started = await client.post(
        f"{page}/backups/volumes/data/run", data={cookies.CSRF_FIELD: token}
    )
    assert started.status_code == 303
    card = await client.get(f"{page}/backups")

    assert card.status_code == 200
    assert re.findall(r'data-volume="([a-z]+)"', card.text) == ["data", "uploads"]
    assert 'value="15 1 * * *"' in card.text
    assert "download its archive" in card.text
    assert "Restore</button>" not in card.text
    [backup_id] = re.findall(r'data-backup="([0-9a-f-]+)"', card.text)
    assert f'href="{page}/backups/{backup_id}/download"' in card.text
    assert await count(db, "backup_schedules", kind="volume", volume="uploads") == 1
    link = await client.get(f"{page}/backups/{backup_id}/download")
    assert link.status_code == 303
    [key] = s3.keys(storage)
    async with httpx.AsyncClient() as outside:
        fetched = await outside.get(link.headers["location"])
    assert fetched.content == s3.client().get_object(Bucket=storage, Key=key)["Body"].read()
    deleted = await client.post(
        f"{page}/backups/{backup_id}/delete", data={cookies.CSRF_FIELD: token}
    )
    assert deleted.status_code == 303
    assert s3.keys(storage) == []
    assert "No backups of data yet." in (await client.get(f"{page}/backups")).text
