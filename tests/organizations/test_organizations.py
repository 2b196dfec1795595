from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import Account, register


async def test_create_and_list_my_organizations(client: httpx.AsyncClient, alice: Account) -> None:
    created = await client.post(
        "/api/organizations", headers=alice.headers, json={"name": "Acme Hosting"}
    )
    assert created.status_code == 201
    assert created.json()["slug"] == "acme-hosting"
    assert created.json()["role"] == "owner"
    second = await client.post(
        "/api/organizations", headers=alice.headers, json={"name": "Acme  hosting!"}
    )
    assert second.json()["slug"] == "acme-hosting-2"

    mine = await client.get("/api/organizations", headers=alice.headers)
    assert [o["slug"] for o in mine.json()] == [
        "test-user-s-organization",
        "acme-hosting",
        "acme-hosting-2",
    ]
    assert {o["role"] for o in mine.json()} == {"owner"}


async def test_acting_organization_defaults_to_first_and_follows_the_header(
    client: httpx.AsyncClient, alice: Account
) -> None:
    other = (
        await client.post("/api/organizations", headers=alice.headers, json={"name": "Second"})
    ).json()
    default = await client.get("/api/wallet", headers=alice.headers)
    chosen = await client.get("/api/wallet", headers=alice.acting_in(other["id"]))
    assert default.json()["organizationId"] == str(alice.organization_id)
    assert chosen.json()["organizationId"] == other["id"]


@pytest.mark.parametrize("header", ["not-a-uuid", str(uuid.uuid4())])
async def test_unknown_or_foreign_organization_is_404(
    client: httpx.AsyncClient, alice: Account, bob: Account, header: str
) -> None:
    for org in (header, str(bob.organization_id)):
        response = await client.get("/api/wallet", headers=alice.acting_in(org))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "ORGANIZATION_NOT_FOUND"


async def _members(
    client: httpx.AsyncClient, viewer: Account, org: uuid.UUID | None = None
) -> dict[str, str]:
    response = await client.get(
        f"/api/organizations/{org or viewer.organization_id}/members", headers=viewer.headers
    )
    assert response.status_code == 200
    return {m["email"]: m["role"] for m in response.json()}


async def test_members_add_change_role_remove(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    org = alice.organization_id
    added = await client.post(
        f"/api/organizations/{org}/members",
        headers=alice.headers,
        json={"email": bob.email, "role": "member"},
    )
    assert added.status_code == 201
    assert await _members(client, alice) == {alice.email: "owner", bob.email: "member"}

    duplicate = await client.post(
        f"/api/organizations/{org}/members", headers=alice.headers, json={"email": bob.email}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "ALREADY_MEMBER"

    as_member = await client.post(
        f"/api/organizations/{org}/members",
        headers=bob.headers,
        json={"email": "carol@example.com"},
    )
    assert as_member.status_code == 403

    promoted = await client.put(
        f"/api/organizations/{org}/members/{bob.user_id}",
        headers=alice.headers,
        json={"role": "admin"},
    )
    assert promoted.status_code == 204
    assert (await _members(client, alice))[bob.email] == "admin"

    owner_demotion = await client.put(
        f"/api/organizations/{org}/members/{alice.user_id}",
        headers=bob.headers,
        json={"role": "member"},
    )
    assert owner_demotion.status_code == 409
    assert owner_demotion.json()["error"]["code"] == "OWNER_IMMUTABLE"

    removed = await client.delete(
        f"/api/organizations/{org}/members/{bob.user_id}", headers=alice.headers
    )
    assert removed.status_code == 204
    assert await _members(client, alice) == {alice.email: "owner"}
    gone = await client.get("/api/wallet", headers=bob.acting_in(org))
    assert gone.status_code == 404


async def test_owner_cannot_be_removed_and_member_can_leave(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    org = alice.organization_id
    await client.post(
        f"/api/organizations/{org}/members", headers=alice.headers, json={"email": bob.email}
    )
    owner = await client.delete(
        f"/api/organizations/{org}/members/{alice.user_id}", headers=alice.headers
    )
    assert owner.status_code == 409
    leave = await client.delete(
        f"/api/organizations/{org}/members/{bob.user_id}", headers=bob.headers
    )
    assert leave.status_code == 204
    assert await _members(client, alice) == {alice.email: "owner"}


async def test_transfer_ownership(client: httpx.AsyncClient, alice: Account, bob: Account) -> None:
    org = alice.organization_id
    not_member = await client.post(
        f"/api/organizations/{org}/transfer",
        headers=alice.headers,
        json={"userId": str(bob.user_id)},
    )
    assert not_member.status_code == 404
    await client.post(
        f"/api/organizations/{org}/members", headers=alice.headers, json={"email": bob.email}
    )
    by_member = await client.post(
        f"/api/organizations/{org}/transfer", headers=bob.headers, json={"userId": str(bob.user_id)}
    )
    assert by_member.status_code == 403
    done = await client.post(
        f"/api/organizations/{org}/transfer",
        headers=alice.headers,
        json={"userId": str(bob.user_id)},
    )
    assert done.status_code == 204
    assert await _members(client, bob, org) == {alice.email: "admin", bob.email: "owner"}


async def test_members_of_a_foreign_organization_are_404(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    org = bob.organization_id
    calls = [
        client.get(f"/api/organizations/{org}/members", headers=alice.headers),
        client.post(
            f"/api/organizations/{org}/members", headers=alice.headers, json={"email": alice.email}
        ),
        client.put(
            f"/api/organizations/{org}/members/{bob.user_id}",
            headers=alice.headers,
            json={"role": "member"},
        ),
        client.delete(f"/api/organizations/{org}/members/{bob.user_id}", headers=alice.headers),
        client.post(
            f"/api/organizations/{org}/transfer",
            headers=alice.headers,
            json={"userId": str(alice.user_id)},
        ),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "ORGANIZATION_NOT_FOUND"
    assert await _members(client, bob) == {bob.email: "owner"}


async def test_adding_an_unknown_email_is_404(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        f"/api/organizations/{alice.organization_id}/members",
        headers=alice.headers,
        json={"email": "ghost@example.com"},
    )
    assert response.status_code == 404
    second = await register(client, "ghost@example.com")
    assert second.email == "ghost@example.com"
