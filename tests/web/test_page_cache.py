"""Whole pages kept for a few seconds (`skypanel.web.pagecache`): a warm page needs no database,
carries this request's CSP nonce and the session's CSRF token, follows the viewer's own changes
at once, and is never shown to another viewer, in another organization, or after a sign-out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings, get_settings
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.periods import add_months
from skypanel.web import cookies, pagecache
from tests.billing.helpers import bill_at, subscribe_at
from tests.support import (
    PASSWORD,
    Account,
    add_service,
    configure_emulator,
    credit,
    make_plan,
    register,
    statements,
    subscribed,
)

PAGES = ("/", "/wallet", "/billing")
RENEWED = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)


def _app(client: httpx.AsyncClient) -> FastAPI:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return app


@asynccontextmanager
async def browser(client: httpx.AsyncClient, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same app, signed in through the web form as a browser is."""
    app = _app(client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.8", 50001)),
        base_url="http://skypanel.test",
    ) as signed:
        await signed.get("/login")
        token = cookies.csrf_token(get_settings(), signed.cookies[cookies.CSRF], None)
        answer = await signed.post(
            "/login",
            data={"email": account.email, "password": PASSWORD, cookies.CSRF_FIELD: token},
        )
        assert answer.status_code == 303, answer.text
        yield signed


def _nonce(response: httpx.Response) -> str:
    found = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert found is not None
    return found.group(1)


@pytest.fixture
async def shop(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, server: object
) -> Account:
    await subscribed(client, db, alice)
    return alice


async def test_a_warm_page_needs_no_database_and_is_this_requests_page(
    client: httpx.AsyncClient, engine: AsyncEngine, shop: Account
) -> None:
    async with browser(client, shop) as tab:
        for path in PAGES:
            with statements(engine) as cold:
                first = await tab.get(path)
            assert first.status_code == 200, path
            assert cold, f"{path}: the first view reads the database"
            with statements(engine) as warm:
                second = await tab.get(path)
            assert second.status_code == 200
            assert warm == [], f"{path} read the database again: {warm}"
            # The same page, with the session's CSRF token in it (its forms post), under this
            # request's own CSP nonce.
            assert _nonce(second) != _nonce(first)
            assert second.text == first.text
            csrf = cookies.csrf_token(
                get_settings(), tab.cookies[cookies.CSRF], tab.cookies[cookies.SESSION]
            )
            assert csrf in second.text


async def test_the_viewers_own_change_shows_on_the_next_request(
    client: httpx.AsyncClient, shop: Account
) -> None:
    async with browser(client, shop) as tab:
        before = await tab.get("/")
        assert "launch-site" not in before.text
        created = await client.post(
            "/api/containers/projects", headers=shop.headers, json={"projectName": "launch-site"}
        )
        assert created.status_code in (201, 202), created.text
        after = await tab.get("/")
        assert "launch-site" in after.text


async def test_a_page_is_never_shown_in_another_organization_or_to_another_viewer(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], shop: Account
) -> None:
    await client.post(
        "/api/containers/projects", headers=shop.headers, json={"projectName": "alice-secret"}
    )
    bob = await register(client, "bob@example.com")
    await subscribed(client, db, bob)
    async with browser(client, shop) as alices, browser(client, bob) as bobs:
        assert "alice-secret" in (await alices.get("/")).text
        assert "alice-secret" in (await alices.get("/")).text
        for _ in range(2):
            theirs = await bobs.get("/")
            assert theirs.status_code == 200
            assert "alice-secret" not in theirs.text
        # Bob joins Alice's organization and switches to it, then back to his own.
        invited = await client.post(
            f"/api/organizations/{shop.organization_id}/members",
            headers=shop.headers,
            json={"email": bob.email, "role": "member"},
        )
        assert invited.status_code in (200, 201), invited.text
        bobs.cookies.set(cookies.ORGANIZATION, str(shop.organization_id))
        assert "alice-secret" in (await bobs.get("/")).text
        bobs.cookies.set(cookies.ORGANIZATION, str(bob.organization_id))
        assert "alice-secret" not in (await bobs.get("/")).text
        # Removed from it, the page of Alice's organization is not his any more.
        removed = await client.delete(
            f"/api/organizations/{shop.organization_id}/members/{bob.user_id}",
            headers=shop.headers,
        )
        assert removed.status_code in (200, 204), removed.text
        bobs.cookies.set(cookies.ORGANIZATION, str(shop.organization_id))
        assert "alice-secret" not in (await bobs.get("/")).text


@pytest.mark.parametrize("how", ["sign-out", "password change"])
async def test_a_warm_page_is_not_served_once_the_sign_in_ends(
    client: httpx.AsyncClient, shop: Account, how: str
) -> None:
    async with browser(client, shop) as tab:
        assert (await tab.get("/")).status_code == 200
        assert (await tab.get("/")).status_code == 200
        if how == "sign-out":
            ended = await client.post(
                "/api/auth/logout", json={"refreshToken": _refresh_token(tab)}
            )
        else:
            ended = await client.post(
                "/api/auth/password",
                headers=shop.headers,
                json={"currentPassword": PASSWORD, "newPassword": "another horse battery staple"},
            )
        assert ended.status_code in (200, 204), ended.text
        after = await tab.get("/", follow_redirects=False)
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login")


def _refresh_token(tab: httpx.AsyncClient) -> str:
    return tab.cookies[cookies.SESSION]


async def test_a_page_with_a_flash_is_rendered_not_served_from_the_cache(
    client: httpx.AsyncClient, shop: Account
) -> None:
    async with browser(client, shop) as tab:
        assert (await tab.get("/")).status_code == 200
        token = cookies.csrf_token(
            get_settings(), tab.cookies[cookies.CSRF], tab.cookies[cookies.SESSION]
        )
        posted = await tab.post(
            "/projects", data={"project_name": "flashy", cookies.CSRF_FIELD: token}
        )
        assert posted.status_code == 303, posted.text
        shown = await tab.get("/")
        assert "Deploy its first service." in shown.text
        assert "Deploy its first service." not in (await tab.get("/")).text


async def test_a_renewal_written_in_bulk_shows_on_the_next_request(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, server: object
) -> None:
    plan = await make_plan(db, price_cents=1000)
    await credit(db, alice.organization_id, 5000)
    await subscribe_at(client, alice, plan, RENEWED)
    async with browser(client, alice) as tab:
        assert "40.00" in (await tab.get("/")).text
        assert "40.00" in (await tab.get("/")).text
        assert (await bill_at(client, db, add_months(RENEWED, 1))).charged == 1
        shown = (await tab.get("/")).text
        assert "30.00" in shown
        assert "40.00" not in shown


async def test_a_viewer_waiting_for_a_page_being_rendered_holds_no_connection(
    settings: Settings,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> None:
    """The same viewer asks for the dashboard twice at once, on a pool of one connection: the
    second waits for the first's render without holding the connection, which the render needs
    again after giving it back (to reach the server for the storage in use). Before, the render
    waited for the pool while the waiter held it, until the pool's 30 s timeout failed it."""
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    sessions = create_sessionmaker(engine)
    app = create_app(settings)
    attach_database(app, engine, sessions)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50002))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://skypanel.test") as http:
            await configure_emulator(sessions, easypanel)
            account = await register(http)
            await subscribed(http, sessions, account)
            await add_service(sessions, account)
            async with browser(http, account) as tab:
                easypanel.controller.set_latency(0.3)
                pages = await asyncio.wait_for(asyncio.gather(tab.get("/"), tab.get("/")), 15)
            assert [page.status_code for page in pages] == [200, 200]
    finally:
        easypanel.controller.reset()
        await app.state.clients.aclose()
        await engine.dispose()


async def test_a_viewer_whose_wait_begins_as_the_render_ends_gets_the_page(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second of two requests for the same page finds it being rendered and gives its
    connection back before waiting; the render ends meanwhile. Before, the waiter then looked the
    render up again, found it gone and answered 500 (seen under load in `bench`)."""
    await configure_emulator(committed, easypanel)
    account = await register(live_client)
    await subscribed(live_client, committed, account)
    await add_service(committed, account)
    real = pagecache.release
    waiters = []

    async def release_until_rendered(session: AsyncSession) -> None:
        waiters.append(session)
        await real(session)
        for _ in range(1000):
            if not pagecache._rendering:
                return
            await asyncio.sleep(0.01)

    monkeypatch.setattr(pagecache, "release", release_until_rendered)
    try:
        async with browser(live_client, account) as tab:
            easypanel.controller.set_latency(0.3)
            pages = await asyncio.wait_for(asyncio.gather(tab.get("/"), tab.get("/")), 15)
    finally:
        easypanel.controller.reset()
    assert [page.status_code for page in pages] == [200, 200]
    assert len(waiters) == 1  # the second request did wait for the first one's render
    assert all(account.email in page.text for page in pages)


async def test_viewers_who_waited_for_a_render_that_kept_no_page_each_get_theirs(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three requests for the same page at once; the render keeps no page (here: none may be
    stored), so both waiters render it themselves, side by side. Before, the first to finish
    took the other's render out of the registry and the other answered 500."""
    await configure_emulator(committed, easypanel)
    account = await register(live_client)
    await subscribed(live_client, committed, account)
    await add_service(committed, account)
    monkeypatch.setattr(pagecache, "_storable", lambda response, nonce: False)
    try:
        async with browser(live_client, account) as tab:
            easypanel.controller.set_latency(0.3)
            pages = await asyncio.wait_for(asyncio.gather(*(tab.get("/") for _ in range(3))), 20)
    finally:
        easypanel.controller.reset()
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert pagecache._rendering == {}
