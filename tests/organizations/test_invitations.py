"""Invitations by email: sent, listed, sent again, revoked, and accepted by a new or an existing
account, with the messages delivered over SMTP to a real server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.models import OutboxMessage
from skypanel.wiring import mailer_for
from tests.mailbox import Mailbox, running_mailbox
from tests.support import PASSWORD, Account, clock_at, register


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def invite(
    client: httpx.AsyncClient, by: Account, email: str, role: str = "member"
) -> httpx.Response:
    return await client.post(
        f"/api/organizations/{by.organization_id}/invitations",
        headers=by.headers,
        json={"email": email, "role": role},
    )


async def last_token(db: async_sessionmaker[AsyncSession], email: str) -> str:
    async with db() as session:
        token = await session.scalar(
            select(OutboxMessage.data["token"].astext)
            .where(
                OutboxMessage.template == "organization.invitation",
                OutboxMessage.recipient == email,
            )
            .order_by(OutboxMessage.created_at.desc())
            .limit(1)
        )
    assert isinstance(token, str)
    return token


async def test_a_new_person_accepts_an_invitation_mailed_to_them(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
    alice: Account,
) -> None:
    sent = await invite(client, alice, "Newcomer@Example.com", "admin")
    assert sent.status_code == 201, sent.text
    assert sent.json()["email"] == "newcomer@example.com"
    mailer = mailer_for(db, settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)}))
    assert await mailer.deliver_due() == 2  # alice's verification and the invitation
    [message] = mailbox.wait_for("newcomer@example.com")
    assert message["Subject"] == "Test User invited you to Test User's organization"
    assert "as admin on SkyPanel. The invitation works for 7 days." in Mailbox.text(message)
    found = re.search(r"/invitations/accept\?token=([A-Za-z0-9_-]+)", Mailbox.text(message))
    assert found is not None
    listed = await client.get(
        f"/api/organizations/{alice.organization_id}/invitations", headers=alice.headers
    )
    assert [i["email"] for i in listed.json()] == ["newcomer@example.com"]

    joined = await client.post(
        "/api/invitations/accept-new",
        json={"token": found.group(1), "name": "New Comer", "password": PASSWORD},
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["user"]["emailVerifiedAt"] is not None
    assert joined.json()["organization"]["id"] == str(alice.organization_id)
    members = await client.get(
        f"/api/organizations/{alice.organization_id}/members", headers=alice.headers
    )
    assert [(m["email"], m["role"]) for m in members.json()] == [
        (alice.email, "owner"),
        ("newcomer@example.com", "admin"),
    ]
    listed = await client.get(
        f"/api/organizations/{alice.organization_id}/invitations", headers=alice.headers
    )
    assert listed.json() == []
    again = await client.post(
        "/api/invitations/accept-new",
        json={"token": found.group(1), "name": "Someone Else", "password": PASSWORD},
    )
    assert (again.status_code, again.json()["error"]["code"]) == (410, "LINK_USED")


async def test_members_and_pending_addresses_cannot_be_invited_twice(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await client.post(
        f"/api/organizations/{alice.organization_id}/members",
        headers=alice.headers,
        json={"email": bob.email, "role": "member"},
    )
    member = await invite(client, alice, bob.email)
    assert member.status_code == 409
    assert member.json()["error"]["code"] == "ALREADY_MEMBER"
    assert member.json()["error"]["details"] == {"field": "email"}
    assert (await invite(client, alice, "carol@example.com")).status_code == 201
    twice = await invite(client, alice, "carol@example.com")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "ALREADY_INVITED")
    as_member = await client.post(
        f"/api/organizations/{alice.organization_id}/invitations",
        headers=bob.headers,
        json={"email": "dave@example.com"},
    )
    assert as_member.status_code == 403
    listed = await client.get(
        f"/api/organizations/{alice.organization_id}/invitations", headers=alice.headers
    )
    assert [i["email"] for i in listed.json()] == ["carol@example.com"]


async def test_an_expired_invitation_can_be_sent_anew(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    assert (await invite(client, alice, "late@example.com")).status_code == 201
    token = await last_token(db, "late@example.com")
    later = clock.now() + timedelta(days=7, seconds=1)
    with clock_at(lambda: later):
        expired = await client.post(
            "/api/invitations/accept-new",
            json={"token": token, "name": "Late", "password": PASSWORD},
        )
        assert (expired.status_code, expired.json()["error"]["code"]) == (410, "LINK_EXPIRED")
        listed = await client.get(
            f"/api/organizations/{alice.organization_id}/invitations", headers=alice.headers
        )
        assert listed.json() == []
        assert (await invite(client, alice, "late@example.com")).status_code == 201


async def test_resend_replaces_the_link_and_revoke_withdraws_it(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    sent = (await invite(client, alice, "eve@example.com")).json()
    first = await last_token(db, "eve@example.com")
    base = f"/api/organizations/{alice.organization_id}/invitations/{sent['id']}"
    resent = await client.post(f"{base}/resend", headers=alice.headers)
    assert resent.status_code == 200, resent.text
    second = await last_token(db, "eve@example.com")
    assert second != first
    old = await client.post(
        "/api/invitations/accept-new", json={"token": first, "name": "Eve", "password": PASSWORD}
    )
    assert (old.status_code, old.json()["error"]["code"]) == (400, "LINK_INVALID")
    assert (await client.delete(base, headers=alice.headers)).status_code == 204
    revoked = await client.post(
        "/api/invitations/accept-new", json={"token": second, "name": "Eve", "password": PASSWORD}
    )
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (410, "INVITATION_REVOKED")
    assert (await client.delete(base, headers=alice.headers)).status_code == 404


async def test_an_existing_account_accepts_only_with_the_invited_address(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, bob: Account
) -> None:
    carol = await register(client, "carol@example.com")
    assert (await invite(client, alice, carol.email)).status_code == 201
    token = await last_token(db, carol.email)
    new = await client.post(
        "/api/invitations/accept-new", json={"token": token, "name": "Carol", "password": PASSWORD}
    )
    assert (new.status_code, new.json()["error"]["code"]) == (409, "EMAIL_TAKEN")
    other = await client.post("/api/invitations/accept", headers=bob.headers, json={"token": token})
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "INVITATION_FOR_ANOTHER_ADDRESS"
    joined = await client.post(
        "/api/invitations/accept", headers=carol.headers, json={"token": token}
    )
    assert joined.status_code == 200, joined.text
    assert (joined.json()["id"], joined.json()["role"]) == (str(alice.organization_id), "member")


async def test_another_organizations_invitation_is_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    sent = (await invite(client, alice, "frank@example.com")).json()
    for method, suffix in (("POST", "/resend"), ("DELETE", "")):
        response = await client.request(
            method,
            f"/api/organizations/{bob.organization_id}/invitations/{sent['id']}{suffix}",
            headers=bob.headers,
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "INVITATION_NOT_FOUND"
