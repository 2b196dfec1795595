from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.wallet import service as wallet
from tests.support import PASSWORD, Account, register


async def test_user_list_search_and_pagination(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    found = await client.get("/api/admin/users?search=ALICE", headers=admin.headers)
    assert [u["email"] for u in found.json()["items"]] == ["alice@example.com"]
    first = await client.get("/api/admin/users?limit=2", headers=admin.headers)
    assert len(first.json()["items"]) == 2
    rest = await client.get(
        f"/api/admin/users?limit=200&cursor={first.json()['nextCursor']}", headers=admin.headers
    )
    seen = [u["id"] for u in first.json()["items"] + rest.json()["items"]]
    assert len(seen) == len(set(seen))
    assert {str(alice.user_id), str(bob.user_id), str(admin.user_id)} <= set(seen)
    assert (await client.get("/api/admin/users", headers=alice.headers)).status_code == 403


async def test_organization_list_shows_balances(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    async with db() as session:
        await wallet.post(
            session,
            alice.organization_id,
            kind="credit",
            amount_cents=4200,
            description="Top-up",
            idempotency_key="admin-list",
        )
        await session.commit()
    response = await client.get("/api/admin/organizations?search=test user", headers=admin.headers)
    rows = {o["id"]: o for o in response.json()["items"]}
    assert rows[str(alice.organization_id)]["balance"] == "42.00"
    assert rows[str(alice.organization_id)]["currency"] == "USD"


async def test_admin_disables_and_promotes_users(
    client: httpx.AsyncClient, admin: Account, alice: Account
) -> None:
    disabled = await client.patch(
        f"/api/admin/users/{alice.user_id}", headers=admin.headers, json={"isActive": False}
    )
    assert disabled.status_code == 200
    assert disabled.json()["isActive"] is False
    assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 401
    login = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 401

    self_demote = await client.patch(
        f"/api/admin/users/{admin.user_id}", headers=admin.headers, json={"role": "user"}
    )
    assert self_demote.status_code == 422

    carol = await register(client, "carol@example.com")
    promoted = await client.patch(
        f"/api/admin/users/{carol.user_id}", headers=admin.headers, json={"role": "admin"}
    )
    assert promoted.json()["role"] == "admin"
    relogin = await client.post(
        "/api/auth/login", json={"email": carol.email, "password": PASSWORD}
    )
    token = relogin.json()["accessToken"]
    assert (
        await client.get("/api/admin/users", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200
