"""Easypanel's Swarm name `<project>_<service>` can never be shared by two services."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ContainerService, ContainerTemplate, EasypanelServer
from skypanel.subscriptions.naming import InvalidName, sanitise, swarm_name
from skypanel.templates.catalog import sync_catalog
from tests.support import Account, count, subscribed

NGINX = {"source": {"type": "image", "image": "nginx:1.27"}}


async def test_underscores_are_refused_in_project_and_service_names(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    project = await client.post(
        "/api/containers/projects", headers=alice.headers, json={"projectName": "web_x"}
    )
    assert project.status_code == 422, project.text
    assert project.json()["error"]["details"]["field"] == "projectName"
    assert "underscore" in project.json()["error"]["message"]
    assert await count(db, "container_projects", project_name="web_x") == 0

    [home] = (await client.get("/api/containers/projects", headers=alice.headers)).json()
    service = await client.post(
        f"/api/containers/projects/{home['projectName']}/services/app",
        headers=alice.headers,
        json={"serviceName": "x_app", **NGINX},
    )
    assert service.status_code == 422, service.text
    assert service.json()["error"]["details"]["field"] == "serviceName"
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0


def test_one_function_builds_the_name_and_it_never_carries_underscores() -> None:
    assert sanitise("Web_X") == "web-x"
    assert swarm_name("q-web-x", "app") == "q-web-x_app"
    with pytest.raises(InvalidName, match="underscores"):
        swarm_name("q-web", "x_app")


async def test_the_swarm_name_is_unique_per_server_in_the_database(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    [home] = (await client.get("/api/containers/projects", headers=alice.headers)).json()
    for name in ("app", "api"):
        created = await client.post(
            f"/api/containers/projects/{home['projectName']}/services/app",
            headers=alice.headers,
            json={"serviceName": name, **NGINX},
        )
        assert created.status_code == 202, created.text
    async with db() as session:
        rows = {
            row.service_name: row
            for row in await session.scalars(
                select(ContainerService).where(
                    ContainerService.organization_id == alice.organization_id
                )
            )
        }
        assert rows["app"].swarm_name == f"{home['easypanelProjectName']}_app"
        assert rows["app"].server_id == server.id
        rows["api"].swarm_name = rows["app"].swarm_name
        with pytest.raises(IntegrityError, match="uq_container_services_server_id_swarm_name"):
            await session.flush()


async def test_template_service_names_follow_the_same_rule(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    [home] = (await client.get("/api/containers/projects", headers=alice.headers)).json()
    async with db() as session:
        await sync_catalog(session)
        await session.commit()
        template = await session.scalar(
            select(ContainerTemplate.id).where(ContainerTemplate.template_name == "wordpress")
        )
    refused = await client.post(
        f"/api/containers/projects/{home['projectName']}/services/template",
        headers=alice.headers,
        json={"templateId": str(template), "inputs": {}, "servicePrefix": "blog_x"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"]["field"] == "servicePrefix"
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0
    deployed = await client.post(
        f"/api/containers/projects/{home['projectName']}/services/template",
        headers=alice.headers,
        json={"templateId": str(template), "inputs": {}, "servicePrefix": "blog"},
    )
    assert deployed.status_code == 202, deployed.text
    async with db() as session:
        names = set(
            await session.scalars(
                select(ContainerService.swarm_name).where(
                    ContainerService.organization_id == alice.organization_id
                )
            )
        )
    assert names == {f"{home['easypanelProjectName']}_blog-{key}" for key in ("wordpress", "db")}
