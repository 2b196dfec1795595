from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit import clock
from skypanel.models import ActivityLog, Organization, RefreshToken, User, Wallet
from tests.support import PASSWORD, Account, register


async def test_register_creates_user_personal_org_and_empty_wallet(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "New.Person@Example.com", "password": PASSWORD, "name": "New Person"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["role"] == "user"
    assert body["organization"]["personal"] is True
    assert body["tokenType"] == "Bearer"
    assert "passwordHash" not in body["user"]
    async with db() as session:
        user = await session.scalar(select(User).where(User.email == "new.person@example.com"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        wallet = await session.scalar(
            select(Wallet).where(Wallet.organization_id == body["organization"]["id"])
        )
        assert wallet is not None
        assert wallet.balance_cents == 0
        events = (
            await session.scalars(
                select(ActivityLog.event_type).where(ActivityLog.user_id == user.id)
            )
        ).all()
        assert sorted(events) == ["auth.register", "organization.create"]


async def test_duplicate_email_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        orgs_before = await session.scalar(select(func.count()).select_from(Organization))
    response = await client.post(
        "/api/auth/register",
        json={"email": "ALICE@example.com", "password": PASSWORD, "name": "Another Alice"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Organization)) == orgs_before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "name": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "name": "X"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "name": ""}, "name"),
        ({"email": "a@example.com", "password": PASSWORD, "name": "X", "role": "admin"}, "role"),
    ],
)
async def test_register_validation_names_the_field(
    client: httpx.AsyncClient, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/auth/register", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [f["field"] for f in error["details"]["fields"]] == [field]


async def test_login_and_me(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["accessToken"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "alice@example.com"
    assert [o["id"] for o in me.json()["organizations"]] == [str(alice.organization_id)]


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever1234"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"


async def test_lockout_after_repeated_failures_then_unlock(
    client: httpx.AsyncClient, alice: Account, settings: object
) -> None:
    for _ in range(4):
        response = await client.post(
            "/api/auth/login", json={"email": alice.email, "password": "wrong password"}
        )
        assert response.status_code == 401
    fifth = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "wrong password"}
    )
    assert fifth.status_code == 423
    assert fifth.json()["error"]["code"] == "ACCOUNT_LOCKED"
    assert 890 <= int(fifth.headers["Retry-After"]) <= 900
    right_but_locked = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    assert right_but_locked.status_code == 423

    later = datetime.now(UTC) + timedelta(seconds=901)
    previous = clock.set_source(lambda: later)
    try:
        unlocked = await client.post(
            "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
        )
    finally:
        clock.set_source(previous)
    assert unlocked.status_code == 200


async def test_expired_access_token_is_refused(client: httpx.AsyncClient, alice: Account) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    previous = clock.set_source(lambda: long_ago)
    try:
        login = await client.post(
            "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
        )
    finally:
        clock.set_source(previous)
    stale = login.json()["accessToken"]
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {stale}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_EXPIRED"


async def test_forged_and_missing_tokens_are_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    forged = jwt.encode(
        {
            "sub": str(alice.user_id),
            "role": "admin",
            "ver": 0,
            "typ": "access",
            "iss": "skypanel",
            "iat": datetime.now(UTC),
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        },
        "not-the-server-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_TOKEN"
    missing = await client.get("/api/auth/me")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UNAUTHORIZED"


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, alice: Account, db: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert first.status_code == 200
    rotated = first.json()["refreshToken"]
    assert rotated != alice.refresh_token

    reuse = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"

    after_theft = await client.post("/api/auth/refresh", json={"refreshToken": rotated})
    assert after_theft.status_code == 401
    async with db() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.user_id == alice.user_id, RefreshToken.revoked_at.is_(None))
        )
    assert live == 0


async def test_logout_revokes_the_refresh_token(client: httpx.AsyncClient, alice: Account) -> None:
    out = await client.post("/api/auth/logout", json={"refreshToken": alice.refresh_token})
    assert out.status_code == 204
    again = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"


async def test_expired_refresh_token_is_refused(client: httpx.AsyncClient, alice: Account) -> None:
    far = datetime.now(UTC) + timedelta(days=31)
    previous = clock.set_source(lambda: far)
    try:
        response = await client.post(
            "/api/auth/refresh", json={"refreshToken": alice.refresh_token}
        )
    finally:
        clock.set_source(previous)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"


async def test_password_change_revokes_every_other_session(
    client: httpx.AsyncClient, alice: Account
) -> None:
    other = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    other_access = other.json()["accessToken"]
    other_refresh = other.json()["refreshToken"]

    wrong = await client.post(
        "/api/auth/password",
        headers=alice.headers,
        json={"currentPassword": "nope nope nope", "newPassword": "a brand new passphrase"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "WRONG_PASSWORD"

    changed = await client.post(
        "/api/auth/password",
        headers=alice.headers,
        json={"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"},
    )
    assert changed.status_code == 200
    fresh = changed.json()["accessToken"]

    revoked = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {other_access}"})
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "TOKEN_REVOKED"
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": other_refresh})
    assert refresh.status_code == 401
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    ).is_success
    old = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": "a brand new passphrase"}
    )
    assert new.status_code == 200


async def test_disabled_account_cannot_sign_in(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]
) -> None:
    account = await register(client)
    async with db() as session:
        user = await session.get(User, account.user_id)
        assert user is not None
        user.is_active = False
        user.token_version += 1
        await session.commit()
    login = await client.post(
        "/api/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert login.status_code == 401
    me = await client.get("/api/auth/me", headers=account.headers)
    assert me.status_code == 401
