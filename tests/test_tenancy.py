"""Walks the whole route table: another organization's ids give 404 and change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.app import ROUTERS
from skypanel.http import deps
from skypanel.models import EasypanelServer
from tests.support import Account, subscribed


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _org_routes() -> list[tuple[str, str, bool]]:
    """(method, path, org in path) for every route that acts in an organization."""
    routes = []
    for route in (route for router in ROUTERS for route in router.routes):
        if not isinstance(route, APIRoute) or route.path.startswith("/api/admin"):
            continue
        calls = set(_calls(route.dependant))
        by_header = deps._current_org in calls
        by_path = deps._path_org in calls
        if by_header or by_path:
            routes.extend((method, route.path, by_path) for method in route.methods)
    return routes


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        tables = (
            await session.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ).scalars()
        return {
            table: int(
                (await session.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()
            )
            for table in tables
        }


async def test_every_org_route_hides_other_organizations(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    alice: Account,
    bob: Account,
) -> None:
    routes = _org_routes()
    assert len(routes) >= 8, routes
    before = await _snapshot(db)
    for method, path, by_path in routes:
        url = re.sub(r"\{organization_id\}", str(bob.organization_id), path)
        url = re.sub(r"\{[a-z_]+\}", str(bob.user_id), url)
        headers = alice.headers if by_path else alice.acting_in(bob.organization_id)
        response = await client.request(method, url, headers=headers, json={})
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert response.json()["error"]["code"] == "ORGANIZATION_NOT_FOUND", f"{method} {path}"
    assert await _snapshot(db) == before


SAMPLE_BODIES: dict[str, dict[str, object]] = {
    "/services/app": {"serviceName": "probe", "source": {"type": "image", "image": "nginx"}},
    "/services/database": {"serviceName": "probe", "type": "redis"},
    "/services/template": {"templateId": "00000000-0000-0000-0000-000000000000", "inputs": {}},
    "/env": {"env": {"A": "b"}},
    "/resources": {"cpuCores": "0.1"},
}


async def test_another_organizations_names_give_404_and_change_nothing(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    [theirs] = (await client.get("/api/containers/projects", headers=bob.headers)).json()
    project = theirs["projectName"]
    deployed = await client.post(
        f"/api/containers/projects/{project}/services/database",
        headers=bob.headers,
        json={"serviceName": "private-db", "type": "redis"},
    )
    assert deployed.status_code == 201
    named = [
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "{project_name}" in route.path
        for method in route.methods
    ]
    assert len(named) >= 10, named
    before = await _snapshot(db)
    for method, path in named:
        url = path.replace("{project_name}", project).replace("{service_name}", "private-db")
        url = url.replace("{verb}", "stop")
        body = next((b for suffix, b in SAMPLE_BODIES.items() if path.endswith(suffix)), None)
        response = await client.request(method, url, headers=alice.headers, json=body)
        assert response.status_code == 404, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        assert response.json()["error"]["code"] in ("PROJECT_NOT_FOUND", "NOT_FOUND"), path
    assert await _snapshot(db) == before
