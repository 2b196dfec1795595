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
from skypanel.config import get_settings
from skypanel.models import EasypanelServer
from skypanel.organizations import auth as org_auth
from skypanel.web import ROUTERS as WEB_ROUTERS
from skypanel.web import cookies
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
        by_header = org_auth._current_org in calls
        by_path = org_auth._path_org in calls
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
    "/domains": {"host": "probe.example.com"},
    "/ports": {"published": 30000, "target": 80},
    "/external-access": {},
    "/backups/schedule": {"schedule": "0 3 * * *", "retention": 7, "enabled": True},
    "/volumes/{volume}/schedule": {"schedule": "0 3 * * *", "retention": 7, "enabled": True},
    "/restore": {"confirm": "private-db"},
    "/build": {"type": "dockerfile"},
    "/auto-deploy": {"enabled": True},
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
    assert deployed.status_code == 202
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


async def _signed_in_browser(client: httpx.AsyncClient, account: Account) -> str:
    """Sign in through the web form, as a browser does; returns the CSRF token of the session."""
    await client.get("/login")
    secret = client.cookies[cookies.CSRF]
    token = cookies.csrf_token(get_settings(), secret, None)
    signed_in = await client.post(
        "/login",
        data={"email": account.email, "password": account.password, cookies.CSRF_FIELD: token},
    )
    assert signed_in.status_code == 303, signed_in.text
    assert cookies.SESSION in client.cookies
    return cookies.csrf_token(
        get_settings(), client.cookies[cookies.CSRF], client.cookies[cookies.SESSION]
    )


async def test_every_page_with_a_project_hides_other_organizations(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    """The web pages and forms walk the same rules as the API: another organization's project
    and service names are not found, and nothing changes."""
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    [theirs] = (await client.get("/api/containers/projects", headers=bob.headers)).json()
    project = theirs["projectName"]
    deployed = await client.post(
        f"/api/containers/projects/{project}/services/database",
        headers=bob.headers,
        json={"serviceName": "private-db", "type": "redis"},
    )
    assert deployed.status_code == 202
    named = [
        (method, route.path)
        for router in WEB_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "{project_name}" in route.path
        for method in route.methods
    ]
    assert len(named) >= 12, named
    token = await _signed_in_browser(client, alice)
    before = await _snapshot(db)
    values = {
        "project_name": project,
        "service_name": "private-db",
        "verb": "stop",
        "part": "connection",
        "kind": "app",
        "template_id": "00000000-0000-0000-0000-000000000000",
    }
    for method, path in named:
        url = re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), "x"), path)
        response = await client.request(
            method,
            url,
            headers={cookies.CSRF_HEADER: token, "X-Organization-Id": ""},
            data={cookies.CSRF_FIELD: token, "confirm": "private-db"} if method != "GET" else None,
        )
        if method == "GET":
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
            shown = response.text
        else:
            # A refused form goes back to where it came from, saying why.
            assert response.status_code == 303, f"{method} {path}: {response.status_code}"
            sent = (response.cookies.get(cookies.FLASH) or "").strip('"')
            flashes = cookies.decode_flashes(get_settings(), sent)
            assert [flash["kind"] for flash in flashes] == ["error"], f"{method} {path}"
            shown = flashes[0]["text"]
        told = shown.lower()
        assert f"no project named {project}" in told or (
            "{template_id}" in path and "template not found" in told
        ), f"{method} {path}: {shown}"
    assert await _snapshot(db) == before
