"""Sign-ins that a third party cannot block, tokens that end when the sign-in ends, sign-in forms
that are rate limited, and CSRF tokens bound to the session they were issued for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings, get_settings
from skypanel.web import cookies
from tests.support import PASSWORD, Account, make_admin

ME = "/api/auth/me"


def _from(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """Another client of the same app, calling from `address`."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://skypanel.test",
    )


async def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong = {"email": alice.email, "password": "not the password"}
    async with _from(client, "198.51.100.66") as attacker:
        codes = [(await attacker.post("/api/auth/login", json=wrong)).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 401, 423]
        locked = await attacker.post(
            "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
        )
        assert locked.status_code == 423
        first = int(locked.headers["Retry-After"])
        assert 890 <= first <= 900
    owner = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert owner.status_code == 200


async def test_each_lockout_from_an_address_lasts_twice_as_long(
    client: httpx.AsyncClient, alice: Account
) -> None:
    from datetime import UTC, datetime, timedelta

    from skypanel.kit import clock

    wrong = {"email": alice.email, "password": "not the password"}
    async with _from(client, "198.51.100.67") as attacker:
        for _ in range(5):
            await attacker.post("/api/auth/login", json=wrong)
        later = datetime.now(UTC) + timedelta(seconds=901)
        previous = clock.set_source(lambda: later)
        try:
            again = [(await attacker.post("/api/auth/login", json=wrong)) for _ in range(5)]
        finally:
            clock.set_source(previous)
    assert [r.status_code for r in again] == [401, 401, 401, 401, 423]
    assert 1790 <= int(again[-1].headers["Retry-After"]) <= 1800


async def test_logout_ends_the_access_tokens_at_once(
    client: httpx.AsyncClient, alice: Account
) -> None:
    assert (await client.get(ME, headers=alice.headers)).status_code == 200
    out = await client.post("/api/auth/logout", json={"refreshToken": alice.refresh_token})
    assert out.status_code == 204
    after = await client.get(ME, headers=alice.headers)
    assert (after.status_code, after.json()["error"]["code"]) == (401, "TOKEN_REVOKED")


async def test_a_reused_refresh_token_ends_the_access_tokens_at_once(
    client: httpx.AsyncClient, alice: Account
) -> None:
    rotated = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert rotated.status_code == 200
    fresh = {"Authorization": f"Bearer {rotated.json()['accessToken']}"}
    reused = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert reused.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
    assert (await client.get(ME, headers=fresh)).status_code == 401
    second = rotated.json()["refreshToken"]
    assert (
        await client.post("/api/auth/refresh", json={"refreshToken": second})
    ).status_code == 401


async def test_disabling_an_account_ends_its_sign_ins_for_good(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    admin = await make_admin(client, db)
    users = f"/api/admin/users/{alice.user_id}"
    disabled = await client.patch(users, headers=admin.headers, json={"isActive": False})
    assert disabled.status_code == 200
    enabled = await client.patch(users, headers=admin.headers, json={"isActive": True})
    assert enabled.status_code == 200
    assert (await client.get(ME, headers=alice.headers)).status_code == 401
    kept = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert kept.status_code == 401


@pytest.fixture
async def limited(
    settings: Settings, engine: object, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    tight = settings.model_copy(
        update={"rate_limit_enabled": True, "rate_limit_anonymous": "3/minute"}
    )
    app = create_app(tight)
    attach_database(app, engine, db)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=("198.51.100.70", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://skypanel.test") as http:
        yield http


async def test_the_sign_in_and_registration_forms_are_rate_limited(
    limited: httpx.AsyncClient,
) -> None:
    await limited.get("/login")
    codes = [
        (await limited.post("/login", data={"email": "a@example.com", "password": "x"})).status_code
        for _ in range(4)
    ]
    assert codes[-1] == 429, codes
    assert (await limited.post("/register", data={})).status_code == 429


async def test_a_csrf_pair_from_another_session_is_refused(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """Cookie tossing: the attacker plants their own valid secret and token in the victim's
    browser; bound to the attacker's session, the pair does not fit the victim's."""
    settings = get_settings()
    await client.get("/login")
    token = cookies.csrf_token(settings, client.cookies[cookies.CSRF], None)
    signed = await client.post(
        "/login",
        data={"email": alice.email, "password": PASSWORD, cookies.CSRF_FIELD: token},
    )
    assert signed.status_code == 303
    victim_session = client.cookies[cookies.SESSION]
    attacker_secret = cookies.new_csrf_secret()
    attacker_token = cookies.csrf_token(settings, attacker_secret, bob.refresh_token)
    client.cookies.set(cookies.CSRF, attacker_secret)
    tossed = await client.post(
        "/organization/new", data={"name": "Tossed", cookies.CSRF_FIELD: attacker_token}
    )
    assert tossed.status_code == 403
    own = cookies.csrf_token(settings, attacker_secret, victim_session)
    accepted = await client.post("/logout", data={cookies.CSRF_FIELD: own})
    assert accepted.status_code == 303
