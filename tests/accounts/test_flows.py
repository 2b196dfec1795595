"""Email verification, password reset and email change, with the messages sent over SMTP to a
real server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.models import OutboxMessage, User
from skypanel.models.accounts import AccountToken
from skypanel.wiring import mailer_for
from tests.conftest import _app
from tests.mailbox import Mailbox, running_mailbox
from tests.support import PASSWORD, Account, clock_at, register

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def deliver(
    db: async_sessionmaker[AsyncSession], settings: Settings, mailbox: Mailbox
) -> int:
    mailer = mailer_for(db, settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)}))
    return await mailer.deliver_due()


def token_in(message: EmailMessage, path: str) -> str:
    """The token of the link to `path` in an email."""
    found = re.search(rf"{re.escape(path)}\?token=([A-Za-z0-9_-]+)", Mailbox.text(message))
    assert found is not None, Mailbox.text(message)
    return found.group(1)


async def test_registration_sends_a_link_that_verifies_the_address_once(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    account = await register(client)
    me = (await client.get("/api/auth/me", headers=account.headers)).json()
    assert me["user"]["emailVerifiedAt"] is None
    assert await deliver(db, settings, mailbox) == 1
    [message] = mailbox.wait_for(account.email)
    assert message["Subject"] == "Confirm your email address"
    assert "to add funds and deploy. The link works for 48 hours." in Mailbox.text(message)
    token = token_in(message, "/verify-email")

    confirmed = await client.post("/api/auth/verify-email", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == account.email
    assert confirmed.json()["emailVerifiedAt"] is not None
    again = await client.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "LINK_USED"
    assert again.json()["error"]["details"] == {"field": "token"}
    me = (await client.get("/api/auth/me", headers=account.headers)).json()
    assert me["user"]["emailVerifiedAt"] == confirmed.json()["emailVerifiedAt"]
    resend = await client.post("/api/auth/verify-email/resend", headers=account.headers)
    assert (resend.status_code, resend.json()["error"]["code"]) == (409, "ALREADY_VERIFIED")


async def test_a_wrong_or_expired_verification_link_is_refused_in_words(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession]
) -> None:
    account = await register(client)
    wrong = await client.post("/api/auth/verify-email", json={"token": "x" * 43})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "LINK_INVALID"
    resent = await client.post("/api/auth/verify-email/resend", headers=account.headers)
    assert resent.status_code == 202
    async with db() as session:
        links = (
            await session.scalars(
                select(AccountToken).where(AccountToken.user_id == account.user_id)
            )
        ).all()
    assert sorted(link.used_at is None for link in links) == [False, True]  # the first retired
    later = clock.now() + timedelta(hours=48, seconds=1)
    async with db() as session:
        [message] = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == account.email)
                .order_by(OutboxMessage.created_at.desc())
                .limit(1)
            )
        ).all()
    with clock_at(lambda: later):
        expired = await client.post("/api/auth/verify-email", json={"token": message.data["token"]})
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "LINK_EXPIRED"


async def test_a_reset_request_answers_the_same_and_mails_only_an_existing_account(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
    alice: Account,
) -> None:
    await deliver(db, settings, mailbox)  # the verification email of registration
    known = await client.post("/api/auth/password-reset", json={"email": alice.email.upper()})
    unknown = await client.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert (
        known.json()
        == unknown.json()
        == {
            "message": "If an account uses this address, a link to choose a new password is on its"
            " way."
        }
    )
    assert await deliver(db, settings, mailbox) == 1
    assert mailbox.to("nobody@example.com") == []
    [message] = [m for m in mailbox.wait_for(alice.email, 2) if "Reset" in m["Subject"]]
    assert message["Subject"] == "Reset your password"
    assert "The link works once and for 30 minutes." in Mailbox.text(message)
    token = token_in(message, "/reset-password")

    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 401
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert refreshed.status_code == 401
    old = await client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200
    assert new.json()["user"]["emailVerifiedAt"] is not None  # the link proved the address
    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "yet another one!"}
    )
    assert again.status_code == 410
    assert again.json()["error"] == {
        "code": "LINK_USED",
        "message": "This link was already used; ask for a new one",
        "details": {"field": "token"},
    }


async def test_a_reset_link_expires_after_30_minutes_and_a_new_one_retires_nothing_else(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    for _ in range(2):
        assert (
            await client.post("/api/auth/password-reset", json={"email": alice.email})
        ).status_code == 202
    async with db() as session:
        first, second = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == "account.password_reset")
                .order_by(OutboxMessage.created_at)
            )
        ).all()
    later = clock.now() + timedelta(minutes=30, seconds=1)
    with clock_at(lambda: later):
        expired = await client.post(
            "/api/auth/password-reset/confirm",
            json={"token": first.data["token"], "password": NEW_PASSWORD},
        )
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "LINK_EXPIRED")
    used = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": second.data["token"], "password": NEW_PASSWORD},
    )
    assert used.status_code == 204
    # Using one link retires the other.
    other = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": first.data["token"], "password": NEW_PASSWORD},
    )
    assert (other.status_code, other.json()["error"]["code"]) == (410, "LINK_USED")


async def test_an_email_change_waits_for_the_new_address_to_confirm(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
    alice: Account,
    bob: Account,
) -> None:
    await deliver(db, settings, mailbox)
    new_email = f"new-{alice.email}"
    wrong = await client.post(
        "/api/auth/email",
        headers=alice.headers,
        json={"newEmail": new_email, "password": "not the password"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "WRONG_PASSWORD"
    assert wrong.json()["error"]["details"] == {"field": "password"}
    taken = await client.post(
        "/api/auth/email", headers=alice.headers, json={"newEmail": bob.email, "password": PASSWORD}
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "EMAIL_TAKEN")
    asked = await client.post(
        "/api/auth/email", headers=alice.headers, json={"newEmail": new_email, "password": PASSWORD}
    )
    assert asked.status_code == 202, asked.text
    assert await deliver(db, settings, mailbox) == 1
    [message] = mailbox.wait_for(new_email)
    assert message["Subject"] == "Confirm your new email address"
    assert f"until then {alice.email} stays" in Mailbox.text(message)
    me = (await client.get("/api/auth/me", headers=alice.headers)).json()
    assert me["user"]["email"] == alice.email

    confirmed = await client.post(
        "/api/auth/verify-email", json={"token": token_in(message, "/verify-email")}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == new_email
    signed_in = await client.post(
        "/api/auth/login", json={"email": new_email, "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    async with db() as session:
        old = await session.scalar(
            select(func.count()).select_from(User).where(User.email == alice.email)
        )
    assert old == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/wallet/top-ups", {"amount": "25.00", "provider": "stripe"}),
        (
            "POST",
            "/api/containers/subscription",
            {"planId": "7d0e1c7e-6c2e-4a55-8f57-3c1b3f0c6a10"},
        ),
        ("POST", "/api/containers/projects", {"projectName": "web"}),
        (
            "POST",
            "/api/containers/projects/web/services/app",
            {"serviceName": "app", "source": {"type": "image", "image": "nginx"}},
        ),
    ],
)
async def test_an_unverified_account_cannot_pay_or_deploy(
    client: httpx.AsyncClient,
    settings: Settings,
    alice: Account,
    method: str,
    path: str,
    body: dict[str, object],
) -> None:
    _app(client).state.settings = settings.model_copy(update={"require_verified_email": True})
    refused = await client.request(method, path, headers=alice.headers, json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"


async def test_an_unverified_account_cannot_top_up_until_it_confirms(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    alice: Account,
) -> None:
    """`POST /api/wallet/top-ups` depends on `accounts.auth.verified_user`."""
    _app(client).state.settings = settings.model_copy(update={"require_verified_email": True})
    body = {"amount": "25.00", "provider": "stripe"}
    refused = await client.post("/api/wallet/top-ups", headers=alice.headers, json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == {
        "code": "EMAIL_NOT_VERIFIED",
        "message": f"Confirm your email address first: follow the link we sent to {alice.email}",
        "details": {"field": "email"},
    }
    async with db() as session:
        token = await session.scalar(
            select(OutboxMessage.data["token"].astext).where(
                OutboxMessage.template == "account.email_verification",
                OutboxMessage.recipient == alice.email,
            )
        )
    assert (await client.post("/api/auth/verify-email", json={"token": token})).status_code == 200
    allowed = await client.post("/api/wallet/top-ups", headers=alice.headers, json=body)
    assert allowed.json()["error"]["code"] == "PROVIDER_NOT_CONFIGURED", "past the check"
