from __future__ import annotations

import base64
import json

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


async def test_user_and_organization_search_match_the_start(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    async def emails(query: str) -> list[str]:
        response = await client.get(f"/api/admin/users?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        return sorted(u["email"] for u in response.json()["items"])

    assert await emails("search=Ali") == ["alice@example.com"]
    assert await emails("search=lice") == []
    assert {alice.email, bob.email} <= set(await emails("search=test%20us&limit=200"))
    orgs = await client.get("/api/admin/organizations?search=TEST%20USER", headers=admin.headers)
    ids = {o["id"] for o in orgs.json()["items"]}
    assert {str(alice.organization_id), str(bob.organization_id)} <= ids
    none = await client.get("/api/admin/organizations?search=organization", headers=admin.headers)
    assert none.json() == {"items": [], "nextCursor": None}


async def test_bad_cursor_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: Account
) -> None:
    """A cursor that decodes but holds no row id (a number) is refused, not a 500."""
    raw = json.dumps(["2026-01-01T00:00:00+00:00", 5]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for url in ("/api/admin/users", "/api/admin/organizations"):
        response = await client.get(f"{url}?cursor={cursor}", headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["details"]["field"] == "cursor"


async def test_search_pages_in_the_order_of_what_matched(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    """A user matched by both email and name comes once, under the key it matched first
    (email); pages follow the matched text ("test user" < "test-zed@…")."""
    zed = await register(client, "test-zed@example.com")
    seen: list[str] = []
    cursor = ""
    while True:
        page = await client.get(
            f"/api/admin/users?search=test&limit=1{cursor}", headers=admin.headers
        )
        assert page.status_code == 200, page.text
        seen += [u["id"] for u in page.json()["items"]]
        if page.json()["nextCursor"] is None:
            break
        cursor = f"&cursor={page.json()['nextCursor']}"
    everyone = await client.get("/api/admin/users?limit=200", headers=admin.headers)
    assert sorted(seen) == sorted(u["id"] for u in everyone.json()["items"])
    assert seen[-1] == str(zed.user_id)
    assert sorted(seen[:-1]) == seen[:-1]
    newest = await client.get(
        f"/api/admin/users?cursor={cursor.removeprefix('&cursor=')}", headers=admin.headers
    )
    assert newest.status_code == 422
