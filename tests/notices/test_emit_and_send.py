"""An event is written once with its messages; the worker sends each email once over SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.models import Notification, OutboxMessage
from skypanel.notices import service as notices
from skypanel.wiring import mailer_for
from tests.mailbox import Mailbox, running_mailbox
from tests.support import Account


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def test_an_event_tells_the_managers_once_and_each_email_is_sent_once(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
    alice: Account,
) -> None:
    data = {"plan": "Starter", "amount": "$10.00", "balance": "$2.00", "grace_until": "Dec 4"}
    async with db() as session:
        first = await notices.emit(
            session,
            "subscription.renewal_failed",
            dedupe_key="renewal_failed:test",
            organization_id=alice.organization_id,
            data=data,
        )
        again = await notices.emit(
            session,
            "subscription.renewal_failed",
            dedupe_key="renewal_failed:test",
            organization_id=alice.organization_id,
            data=data,
        )
        await session.commit()
    assert first is not None
    assert again is None
    mailer = mailer_for(db, settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)}))
    sent = await mailer.deliver_due()
    assert await mailer.deliver_due() == 0
    [message] = [
        m
        for m in mailbox.wait_for(alice.email, count=sent)
        if m["X-SkyPanel-Event"] == "subscription.renewal_failed"
    ]
    assert message["Subject"] == "Your Starter plan could not be renewed"
    assert "keep running until Dec 4" in Mailbox.text(message)
    assert "/wallet#add-funds" in Mailbox.text(message)
    assert message.get_body(preferencelist=("html",)) is not None
    async with db() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "subscription.renewal_failed")
        )
        bell = await session.scalar(select(Notification).where(Notification.event_id == first.id))
    assert row is not None
    assert bell is not None
    assert (row.status, row.attempts) == ("sent", 1)
    assert message["Message-ID"] == f"<{row.message_id}@skypanel.invalid>"
    assert bell.title == "Your Starter plan could not be renewed"
    assert bell.link == "/wallet#add-funds"


async def _renewed(db: async_sessionmaker[AsyncSession], account: Account, key: str) -> None:
    async with db() as session:
        await notices.emit(
            session,
            "subscription.renewed",
            dedupe_key=key,
            organization_id=account.organization_id,
            data={"plan": "Starter", "amount": "$10.00", "period": "Jan 1 to Feb 1"},
        )
        await session.commit()


async def test_the_bell_lists_marks_and_counts(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, bob: Account
) -> None:
    await client.post("/api/notifications/read-all", headers=alice.headers)
    await client.post("/api/notifications/read-all", headers=bob.headers)
    await _renewed(db, alice, "renewed:1")
    await _renewed(db, alice, "renewed:2")
    bell = (await client.get("/api/notifications?unread=true", headers=alice.headers)).json()
    assert (bell["unread"], [n["title"] for n in bell["items"]]) == (
        2,
        ["Your Starter plan was renewed"] * 2,
    )
    assert (await client.get("/api/notifications?unread=true", headers=bob.headers)).json()[
        "items"
    ] == []
    first = bell["items"][0]["id"]
    refused = await client.post(f"/api/notifications/{first}/read", headers=bob.headers)
    assert refused.status_code == 404
    assert (
        await client.post(f"/api/notifications/{first}/read", headers=alice.headers)
    ).status_code == 204
    unread = (await client.get("/api/notifications?unread=true", headers=alice.headers)).json()
    assert (unread["unread"], len(unread["items"])) == (1, 1)
    await client.post("/api/notifications/read-all", headers=alice.headers)
    assert (await client.get("/api/notifications", headers=alice.headers)).json()["unread"] == 0


async def test_preferences_turn_email_off_but_never_for_critical_messages(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    saved = await client.put(
        "/api/notifications/preferences", headers=alice.headers, json={"billing": False}
    )
    assert saved.json() == {"billing": False, "services": True, "account": True}
    await _renewed(db, alice, "renewed:quiet")
    async with db() as session:
        await notices.emit(
            session,
            "subscription.suspended",
            dedupe_key="suspended:loud",
            organization_id=alice.organization_id,
            data={"plan": "Starter", "amount": "$10.00", "terminates_on": "Jan 15"},
        )
        await session.commit()
        emails = (
            await session.scalars(
                select(OutboxMessage.template).where(OutboxMessage.template.like("subscription.%"))
            )
        ).all()
    assert emails == ["subscription.suspended"]
    bell = (await client.get("/api/notifications", headers=alice.headers)).json()
    titles = [n["title"] for n in bell["items"]]
    assert "Your Starter plan was renewed" in titles, "the panel keeps every message"


async def test_a_one_time_link_is_kept_only_in_its_email_until_it_is_sent(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
    alice: Account,
) -> None:
    async with db() as session:
        event = await notices.emit(
            session,
            "account.password_reset",
            dedupe_key="reset:secret-test",
            user_id=alice.user_id,
            data={"email": alice.email, "minutes": 30, "token": "one-time-token-xyz"},
        )
        await session.commit()
    assert event is not None
    assert "token" not in event.data
    mailer = mailer_for(db, settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)}))
    await mailer.deliver_due()
    [reset] = [
        m
        for m in mailbox.wait_for(alice.email, count=1)
        if m["X-SkyPanel-Event"] == "account.password_reset"
    ]
    assert "token=one-time-token-xyz" in Mailbox.text(reset)
    async with db() as session:
        kept = await session.scalar(
            select(OutboxMessage.data).where(OutboxMessage.template == "account.password_reset")
        )
        bell = await session.scalar(select(Notification).where(Notification.event_id == event.id))
    assert kept is not None
    assert kept["token"] == "(sent)"
    assert bell is None, "a one-time link never shows in the panel's list"
