"""Cached reads served before the framework (`CachedReads`): the same answer as the full path, and
never to a caller the full path would refuse."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from skypanel.config import Settings
from skypanel.http import principals
from skypanel.http.fastpath import CachedReads
from skypanel.projects.endpoints import PROJECTS
from skypanel.quotas.endpoints import USAGE
from tests.support import PASSWORD, Account, subscribed

PROJECTS_PATH = "/api/containers/projects"


class Recorder:
    """Stands for the framework behind the fast path: answers 599 and counts what reached it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def fast_path_of(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[httpx.AsyncClient, Recorder]:
    """A client for a `CachedReads` that shares the app's cache but has a recorder behind it."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    recorder = Recorder()
    layer = CachedReads(recorder, reads=(PROJECTS, USAGE), cache=app.state.cache, settings=settings)
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
        cold = await fast.get(PROJECTS_PATH, headers=shop.headers)
        assert cold.status_code == 599
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
    assert recorder.calls == 1


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
            bob.headers,
        ]
        for headers in refused:
            assert (await fast.get(PROJECTS_PATH, headers=headers)).status_code == 599
        assert (await fast.post(PROJECTS_PATH, headers=shop.headers)).status_code == 599
        assert (await fast.get(PROJECTS_PATH + "/shop", headers=shop.headers)).status_code == 599
    assert recorder.calls == len(refused) + 2


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


async def test_the_fast_path_decides_with_the_full_paths_rule(
    client: httpx.AsyncClient, settings: Settings, shop: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.get(PROJECTS_PATH, headers=shop.headers)
    fast, recorder = fast_path_of(client, settings)
    async with fast:
        assert (await fast.get(PROJECTS_PATH, headers=shop.headers)).status_code == 200
        monkeypatch.setattr(principals, "refusal", lambda *_: principals.Refusal.REVOKED)
        assert (await fast.get(PROJECTS_PATH, headers=shop.headers)).status_code == 599
    assert recorder.calls == 1
