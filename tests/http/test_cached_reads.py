"""Cached reads served before the framework (`CachedReads`): the same answer as the full path, and
never to a caller the full path would refuse."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asyncpg.connection import LoggedQuery  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from skypanel.config import Settings
from skypanel.http import caching, principals
from skypanel.http.fastpath import CachedReads
from skypanel.kit.db import driver_connection
from skypanel.kit.tokens import issue_access_token
from skypanel.models import (
    EasypanelServer,
    Membership,
    User,
)
from skypanel.projects.endpoints import PROJECTS
from skypanel.quotas.endpoints import USAGE
from skypanel.services.endpoints import SERVICE
from tests.support import PASSWORD, Account, add_service, register, subscribed

PROJECTS_PATH = "/api/containers/projects"


class Recorder:
    """Stands for the framework behind the fast path: answers 599 and counts what reached it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def app_of(client: httpx.AsyncClient) -> FastAPI:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return app


_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@pytest.fixture
async def statements(db: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[str]]:
    """The statements the test's connection runs other than transaction control, through
    SQLAlchemy or not (the cold read runs on the driver's connection): asyncpg's query logger."""
    seen: list[str] = []
    # asyncpg tells its query loggers on the next turn of the loop: the test's requests, each
    # many turns long, let them run before it reads the list.

    def logged(record: LoggedQuery) -> None:
        if not record.query.lstrip().upper().startswith(_CONTROL):
            seen.append(record.query)

    async with driver_connection(db) as driver:
        driver.add_query_logger(logged)
    yield seen
    driver.remove_query_logger(logged)


def fast_path_of(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[httpx.AsyncClient, Recorder]:
    """A client for a `CachedReads` that shares the app's cache but has a recorder behind it."""
    app = app_of(client)
    recorder = Recorder()
    layer = CachedReads(
        recorder,
        reads=(PROJECTS, USAGE),
        views=(SERVICE,),
        cache=app.state.cache,
        settings=settings,
        state=app.state,
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=layer), base_url="http://skypanel.test"
    ), recorder


async def _project(client: httpx.AsyncClient, account: Account, name: str) -> None:
    response = await client.post(PROJECTS_PATH, headers=account.headers, json={"projectName": name})
    # 201, or 202 once creating a project only queues its Easypanel operation.
    assert response.status_code in (201, 202), response.text


@pytest.fixture
async def shop(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, server: object
) -> Account:
    await subscribed(client, db, alice)
    await _project(client, alice, "shop")
    return alice


async def test_a_warm_read_is_answered_without_the_framework_with_the_same_bytes(
    client: httpx.AsyncClient, settings: Settings, shop: Account
) -> None:
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        full = await client.get(PROJECTS_PATH, headers=shop.headers)
        assert full.status_code == 200
        assert "shop" in {p["projectName"] for p in full.json()}
        warm = await fast.get(PROJECTS_PATH, headers=shop.headers)
        assert warm.status_code == 200
        assert warm.content == full.content
        assert warm.headers["content-type"] == full.headers["content-type"]
        assert int(warm.headers["content-length"]) == len(full.content)
        usage = await client.get("/api/containers/subscription/usage", headers=shop.headers)
        served = await fast.get("/api/containers/subscription/usage", headers=shop.headers)
        assert (served.status_code, served.content) == (200, usage.content)
    assert recorder.calls == 0


async def test_a_cold_read_is_answered_in_one_statement_with_the_full_paths_bytes(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
    statements: list[str],
) -> None:
    """Nothing cached, caller included: the fast path finds the caller and the list in one
    statement, answers as the full path does, and fills the caches the full path fills."""
    await _project(client, shop, "blog")
    app = app_of(client)
    await add_service(db, shop, "running", project="blog")
    full = await client.get(PROJECTS_PATH, headers=shop.headers)
    assert full.status_code == 200
    counted = {p["projectName"]: p["servicesByStatus"] for p in full.json()}
    assert (counted["shop"], counted["blog"]) == ({}, {"running": 1})
    await app.state.cache.bump(principals.scope(shop.user_id), caching.scope(shop.organization_id))
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        statements.clear()
        cold = await fast.get(PROJECTS_PATH, headers=shop.headers)
        assert (cold.status_code, cold.content) == (200, full.content)
        assert len(statements) == 1
        # The organization was not known before the statement: the caller is cached, the
        # list is not (it could be stored under a generation a change has already left).
        statements.clear()
        again = await fast.get(PROJECTS_PATH, headers=shop.headers)
        assert (again.status_code, again.content) == (200, full.content)
        assert len(statements) == 1
        statements.clear()
        warm = await fast.get(PROJECTS_PATH, headers=shop.headers)
        assert (warm.status_code, warm.content) == (200, full.content)
        assert statements == []
    assert recorder.calls == 0


async def test_a_cold_read_of_a_named_organization_is_answered_and_kept(
    client: httpx.AsyncClient, settings: Settings, shop: Account, statements: list[str]
) -> None:
    named = shop.acting_in(shop.organization_id)
    full = await client.get(PROJECTS_PATH, headers=named)
    cache = app_of(client).state.cache
    await cache.bump(principals.scope(shop.user_id), caching.scope(shop.organization_id))
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        statements.clear()
        cold = await fast.get(PROJECTS_PATH, headers=named)
        assert (cold.status_code, cold.content) == (200, full.content)
        assert len(statements) == 1
        (generation,) = await cache.generations(caching.scope(shop.organization_id))
        assert await cache.get_raw(PROJECTS.key(shop.organization_id, generation)) == full.content
        statements.clear()
        warm = await fast.get(PROJECTS_PATH, headers=named)
        assert (warm.status_code, warm.content) == (200, full.content)
        assert statements == []
    assert recorder.calls == 0


async def test_a_cold_read_keeps_no_list_under_an_organization_it_did_not_expect(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
    bob: Account,
) -> None:
    """Bob's cached membership says his own organization comes first, but by the time the
    statement runs (the change committed, its bump not yet made) it is the shop's: the answer
    is the shop's list, stored under no generation read for another organization."""
    org = shop.organization_id
    added = await client.post(
        f"/api/organizations/{org}/members", headers=shop.headers, json={"email": bob.email}
    )
    assert added.status_code == 201, added.text
    assert (await client.get(PROJECTS_PATH, headers=bob.headers)).status_code == 200
    shops = await client.get(PROJECTS_PATH, headers=shop.headers)
    cache = app_of(client).state.cache
    await cache.bump(caching.scope(bob.organization_id), caching.scope(org))
    async with db() as session:
        await session.execute(
            delete(Membership).where(
                Membership.user_id == bob.user_id, Membership.organization_id == bob.organization_id
            )
        )
        await session.commit()
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        answer = await fast.get(PROJECTS_PATH, headers=bob.headers)
    assert (answer.status_code, answer.content) == (200, shops.content)
    assert recorder.calls == 0
    (generation,) = await cache.generations(caching.scope(bob.organization_id))
    for organization_id in (org, bob.organization_id):
        assert await cache.get_raw(PROJECTS.key(organization_id, generation)) is None


async def test_a_cold_read_follows_a_change_at_once(
    client: httpx.AsyncClient, settings: Settings, shop: Account
) -> None:
    fast, _ = fast_path_of(client, settings)
    async with fast:
        before = await fast.get(PROJECTS_PATH, headers=shop.headers)
        await _project(client, shop, "blog")
        after = await fast.get(PROJECTS_PATH, headers=shop.headers)
        names = [p["projectName"] for p in after.json()]
        assert names == [p["projectName"] for p in before.json()] + ["blog"]


async def test_what_the_full_path_refuses_is_passed_on(
    client: httpx.AsyncClient, settings: Settings, shop: Account, bob: Account
) -> None:
    await client.get(PROJECTS_PATH, headers=shop.headers)
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        refused = [
            {},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": shop.headers["Authorization"][:-2] + "xx"},
            shop.acting_in(bob.organization_id),
        ]
        for headers in refused:
            assert (await fast.get(PROJECTS_PATH, headers=headers)).status_code == 599
        assert (await fast.post(PROJECTS_PATH, headers=shop.headers)).status_code == 599
        assert (await fast.get(PROJECTS_PATH + "/shop", headers=shop.headers)).status_code == 599
        # A query string is the full path's to judge (an unknown parameter is a 422 there).
        assert (await fast.get(PROJECTS_PATH + "?x=1", headers=shop.headers)).status_code == 599
    assert recorder.calls == len(refused) + 3


async def test_a_change_is_seen_at_once(client: httpx.AsyncClient, shop: Account) -> None:
    before = await client.get(PROJECTS_PATH, headers=shop.headers)
    await client.get(PROJECTS_PATH, headers=shop.headers)
    await _project(client, shop, "blog")
    after = await client.get(PROJECTS_PATH, headers=shop.headers)
    names = {p["projectName"] for p in after.json()}
    assert names == {p["projectName"] for p in before.json()} | {"blog"}


async def test_a_removed_member_is_refused_at_once(
    client: httpx.AsyncClient, shop: Account, bob: Account
) -> None:
    org = shop.organization_id
    added = await client.post(
        f"/api/organizations/{org}/members", headers=shop.headers, json={"email": bob.email}
    )
    assert added.status_code == 201, added.text
    for _ in range(2):
        seen = await client.get(PROJECTS_PATH, headers=bob.acting_in(org))
        assert seen.status_code == 200
    removed = await client.delete(
        f"/api/organizations/{org}/members/{bob.user_id}", headers=shop.headers
    )
    assert removed.status_code == 204
    gone = await client.get(PROJECTS_PATH, headers=bob.acting_in(org))
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ORGANIZATION_NOT_FOUND"


async def test_a_revoked_token_is_refused_at_once(client: httpx.AsyncClient, shop: Account) -> None:
    for _ in range(2):
        assert (await client.get(PROJECTS_PATH, headers=shop.headers)).status_code == 200
    changed = await client.post(
        "/api/auth/password",
        headers=shop.headers,
        json={"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"},
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['accessToken']}"}
    for _ in range(2):
        assert (await client.get(PROJECTS_PATH, headers=fresh)).status_code == 200
    revoked = await client.get(PROJECTS_PATH, headers=shop.headers)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "TOKEN_REVOKED"


async def test_a_disabled_account_is_refused_at_once(
    client: httpx.AsyncClient, shop: Account, admin: Account
) -> None:
    for _ in range(2):
        assert (await client.get(PROJECTS_PATH, headers=shop.headers)).status_code == 200
    disabled = await client.patch(
        f"/api/admin/users/{shop.user_id}", headers=admin.headers, json={"isActive": False}
    )
    assert disabled.status_code == 200, disabled.text
    for _ in range(2):
        refused = await client.get(PROJECTS_PATH, headers=shop.headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "INVALID_TOKEN"


async def test_a_read_of_a_named_organization_is_served_too(
    client: httpx.AsyncClient, settings: Settings, shop: Account
) -> None:
    named = shop.acting_in(shop.organization_id)
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        full = await client.get(PROJECTS_PATH, headers=named)
        warm = await fast.get(PROJECTS_PATH, headers=named)
        assert (warm.status_code, warm.content) == (200, full.content)
        odd = {**shop.headers, "X-Organization-Id": "not-an-id"}
        assert (await fast.get(PROJECTS_PATH, headers=odd)).status_code == 599
    assert recorder.calls == 1


async def test_a_cold_read_passes_on_what_the_full_path_refuses(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
    bob: Account,
) -> None:
    """With nothing cached: an organization the caller is not in, a stale token version, a
    disabled account, an account that is gone and one in no organization all reach the full
    path, which says why."""
    fast, recorder = fast_path_of(client, settings)
    refused = [shop.acting_in(bob.organization_id)]
    async with fast:
        assert (await fast.get(PROJECTS_PATH, headers=bob.headers)).status_code == 200
        async with db() as session:
            await session.execute(
                update(User)
                .where(User.id == shop.user_id)
                .values(token_version=User.token_version + 1)
            )
            await session.execute(
                update(User).where(User.id == bob.user_id).values(is_active=False)
            )
            await session.commit()
        refused += [shop.headers, bob.headers]
        for user_id in (shop.user_id, bob.user_id):
            await app_of(client).state.cache.bump(principals.scope(user_id))
        gone = issue_access_token(uuid.uuid4(), "user", 0, key=settings.jwt_key(), ttl_seconds=60)
        refused.append({"Authorization": f"Bearer {gone}"})
        carol = await register(client)
        async with db() as session:
            await session.execute(delete(Membership).where(Membership.user_id == carol.user_id))
            await session.commit()
        await app_of(client).state.cache.bump(principals.scope(carol.user_id))
        refused.append(carol.headers)
        for headers in refused:
            assert (await fast.get(PROJECTS_PATH, headers=headers)).status_code == 599
    assert recorder.calls == len(refused)
    assert (await client.get(PROJECTS_PATH, headers=shop.headers)).json()["error"]["code"] == (
        "TOKEN_REVOKED"
    )
    lost = await client.get(PROJECTS_PATH, headers=carol.headers)
    assert (lost.status_code, lost.json()["error"]["code"]) == (404, "ORGANIZATION_NOT_FOUND")


async def test_the_fast_path_decides_with_the_full_paths_rule(
    client: httpx.AsyncClient, settings: Settings, shop: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.get(PROJECTS_PATH, headers=shop.headers)
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        assert (await fast.get(PROJECTS_PATH, headers=shop.headers)).status_code == 200
        monkeypatch.setattr(principals, "refusal", lambda *_: principals.Refusal.REVOKED)
        assert (await fast.get(PROJECTS_PATH, headers=shop.headers)).status_code == 599
        await app_of(client).state.cache.bump(principals.scope(shop.user_id))
        assert (await fast.get(PROJECTS_PATH, headers=shop.headers)).status_code == 599
    assert recorder.calls == 2


SERVICE_PATH = PROJECTS_PATH + "/shop/services/web"


async def _full(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    """The route itself (a query string is never answered before the framework)."""
    answer = await client.get(SERVICE_PATH + "?reveal=false", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


@pytest.mark.parametrize("status", ["failed", "running"])
async def test_a_service_is_answered_cold_in_one_statement_with_the_routes_bytes(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
    statements: list[str],
    status: str,
) -> None:
    """Shown as recorded (`failed`) or as the server's task counts show it (`running`): the same
    bytes as the route, from one statement for the caller, its membership, the service, its
    project and its server; the server is asked as the route asks it."""
    await add_service(db, shop, status, project="shop")
    full = await _full(client, shop.headers)
    assert full.json()["serviceName"] == "web"
    await app_of(client).state.cache.bump(principals.scope(shop.user_id))
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        statements.clear()
        cold = await fast.get(SERVICE_PATH, headers=shop.headers)
        assert (cold.status_code, cold.content) == (200, full.content)
        assert len(statements) == 1
        named = await fast.get(SERVICE_PATH, headers=shop.acting_in(shop.organization_id))
        assert (named.status_code, named.content) == (200, full.content)
    assert recorder.calls == 0


async def test_a_service_on_a_server_that_is_down_is_shown_as_the_route_shows_it(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
) -> None:
    await add_service(db, shop, "running", project="shop")
    async with db() as session:
        await session.execute(update(EasypanelServer).values(state="down"))
        await session.commit()
    full = await _full(client, shop.headers)
    assert full.json()["degraded"] is not None
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        cold = await fast.get(SERVICE_PATH, headers=shop.headers)
    assert (cold.status_code, cold.content) == (200, full.content)
    assert recorder.calls == 0


async def test_a_service_view_passes_on_what_the_route_refuses_or_cannot_find(
    client: httpx.AsyncClient,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    shop: Account,
    bob: Account,
) -> None:
    """Another organization's service (by its own token, or naming the organization), a service
    or project that does not exist, `?reveal`, a trailing slash, a malformed organization, no
    token, a disabled account and a revoked token all reach the route, which says why; nothing
    of the shop's is answered to Bob."""
    await add_service(db, shop, "failed", project="shop")
    await subscribed(client, db, bob)
    await _project(client, bob, "shop")
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        passed = [
            (SERVICE_PATH, bob.headers),
            (SERVICE_PATH, bob.acting_in(shop.organization_id)),
            (SERVICE_PATH, shop.acting_in(bob.organization_id)),
            (PROJECTS_PATH + "/shop/services/api", shop.headers),
            (PROJECTS_PATH + "/blog/services/web", shop.headers),
            (SERVICE_PATH + "?reveal=true", shop.headers),
            (SERVICE_PATH, {}),
            (SERVICE_PATH, {"Authorization": "Bearer not-a-token"}),
            (SERVICE_PATH, {**shop.headers, "X-Organization-Id": "not-an-id"}),
            (SERVICE_PATH + "/", shop.headers),
        ]
        for path, headers in passed:
            assert (await fast.get(path, headers=headers)).status_code == 599, (path, headers)
        changes = (
            {"is_active": False},
            {"is_active": True, "token_version": User.token_version + 1},
        )
        for change in changes:
            async with db() as session:
                await session.execute(update(User).where(User.id == shop.user_id).values(**change))
                await session.commit()
            assert (await fast.get(SERVICE_PATH, headers=shop.headers)).status_code == 599
    assert recorder.calls == len(passed) + 2
    refused = await client.get(SERVICE_PATH, headers=bob.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "SERVICE_NOT_FOUND")
