from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RunningEmulator
from skypanel.models import ActivityLog, ContainerTemplate
from skypanel.templates.catalog import BUILTIN, CatalogEntry, SyncReport, sync_catalog
from skypanel.templates.render import render_template

NAMES = [entry.template_name for entry in BUILTIN]


async def templates(sessions: async_sessionmaker[AsyncSession]) -> dict[str, ContainerTemplate]:
    async with sessions() as session:
        found = await session.scalars(select(ContainerTemplate))
        return {t.template_name: t for t in found}


def bumped(entry: CatalogEntry) -> CatalogEntry:
    schema = copy.deepcopy(entry.template_schema)
    schema["inputs"][0]["label"] = "Changed"
    return dataclasses.replace(entry, description="Newer", template_schema=schema)


def test_the_catalogue_has_the_popular_apps() -> None:
    assert NAMES == [
        "wordpress",
        "ghost",
        "gitea",
        "nextcloud",
        "plausible",
        "metabase",
        "uptime-kuma",
        "n8n",
        "vaultwarden",
        "adminer",
        "redis-commander",
    ]
    orders = [entry.display_order for entry in BUILTIN]
    assert orders == sorted(set(orders))


async def test_sync_installs_the_catalogue_once(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session:
        first = await sync_catalog(session)
        await session.commit()
    assert (first.created, first.updated, first.unchanged, first.skipped) == (
        tuple(NAMES),
        (),
        (),
        (),
    )
    async with db() as session:
        again = await sync_catalog(session)
        await session.commit()
    assert (again.created, again.updated, again.unchanged) == ((), (), tuple(NAMES))
    stored = await templates(db)
    assert sorted(stored) == sorted(NAMES)
    assert all(t.builtin and t.enabled for t in stored.values())
    assert stored["wordpress"].category == "CMS"
    async with db() as session:
        events = (
            await session.scalars(
                select(ActivityLog.event_type).where(
                    ActivityLog.event_type == "container.template.sync"
                )
            )
        ).all()
    assert events == ["container.template.sync"]


async def test_sync_updates_content_but_keeps_what_admins_own(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        session.add(
            ContainerTemplate(
                id=uuid.uuid4(),
                template_name="adminer",
                display_name="Our Adminer",
                template_schema={"services": []},
                builtin=False,
            )
        )
        await session.commit()
    async with db() as session:
        first = await sync_catalog(session)
        await session.commit()
    assert first.skipped == ("adminer",)
    assert len(first.created) == len(NAMES) - 1

    async with db() as session:
        ghost = await session.scalar(
            select(ContainerTemplate).where(ContainerTemplate.template_name == "ghost")
        )
        assert ghost is not None
        ghost.enabled = False
        ghost.display_order = 1
        ghost.category = "Blogs"
        await session.commit()

    newer = [bumped(e) if e.template_name in ("ghost", "wordpress") else e for e in BUILTIN]
    async with db() as session:
        report = await sync_catalog(session, tuple(newer))
        await session.commit()
    assert report.updated == ("wordpress", "ghost")
    assert report.skipped == ("adminer",)
    assert len(report.unchanged) == len(NAMES) - 3
    stored = await templates(db)
    ghost_now = stored["ghost"]
    assert (ghost_now.enabled, ghost_now.display_order, ghost_now.category) == (False, 1, "Blogs")
    assert ghost_now.description == "Newer"
    assert ghost_now.template_schema["inputs"][0]["label"] == "Changed"
    adminer = stored["adminer"]
    assert (adminer.display_name, adminer.template_schema, adminer.builtin) == (
        "Our Adminer",
        {"services": []},
        False,
    )


async def test_concurrent_syncs_install_each_template_once(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async def run() -> SyncReport:
        async with committed() as session:
            report = await sync_catalog(session)
            await session.commit()
            return report

    reports = await asyncio.gather(run(), run())
    assert sorted(len(r.created) for r in reports) == [0, len(NAMES)]
    assert sorted(len(r.created) + len(r.skipped) + len(r.unchanged) for r in reports) == [
        len(NAMES),
        len(NAMES),
    ]
    assert sorted(await templates(committed)) == sorted(NAMES)


async def test_a_rendered_builtin_is_created_by_easypanel(easypanel: RunningEmulator) -> None:
    easypanel.controller.reset()
    nextcloud = next(e for e in BUILTIN if e.template_name == "nextcloud")
    rendered = render_template(
        nextcloud.template_schema,
        {"adminUser": "root"},
        project_name="acme-files",
        service_prefix="cloud",
    )
    async with EasypanelClient(easypanel.base_url, easypanel.token) as client:
        await client.create_project("acme-files")
        await client.create_from_schema("acme-files", rendered.specs, name="Nextcloud")
    services = easypanel.controller.snapshot()["services"]
    created = {
        key: (service["type"], service.get("image") or service["source"]["image"])
        for key, service in services.items()
    }
    assert created == {
        "acme-files/cloud-db": ("postgres", "postgres:16"),
        "acme-files/cloud-cache": ("redis", "redis:7"),
        "acme-files/cloud-nextcloud": ("app", "nextcloud:30.0.4-apache"),
    }
    app = services["acme-files/cloud-nextcloud"]
    db = services["acme-files/cloud-db"]
    assert db["password"] == rendered.secrets["services.db.password"]
    assert (db["databaseName"], db["user"]) == ("nextcloud", "nextcloud")
    env = dict(line.split("=", 1) for line in app["env"].splitlines())
    assert env["POSTGRES_HOST"] == "acme-files_cloud-db"
    assert env["NEXTCLOUD_ADMIN_USER"] == "root"
    assert env["NEXTCLOUD_ADMIN_PASSWORD"] == rendered.inputs["adminPassword"]
    assert app["resources"] == {
        "cpuLimit": 1.0,
        "cpuReservation": 0.0,
        "memoryLimit": 2048.0,
        "memoryReservation": 0.0,
    }
    assert [d["host"] for d in app["domains"]] == [
        f"acme-files-cloud-nextcloud.{easypanel.controller.world.settings.instance_id}"
        ".easypanel.host"
    ]
    assert app["mounts"] == [{"type": "volume", "name": "html", "mountPath": "/var/www/html"}]
    easypanel.controller.reset()
