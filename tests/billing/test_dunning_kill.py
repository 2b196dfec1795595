"""The dunning sequence of several organizations, its emails sent by a real `skypanel worker`
process that is SIGKILLed while sending and replaced: every message arrives, none twice.

"None twice" counts distinct Message-IDs. The outbox keeps one Message-ID per message across
attempts, so the one duplicate SMTP allows (the server accepted a message, then the worker died
before marking it sent) reaches the recipient with the same Message-ID, which mail clients show
once. Such a resend is counted and allowed; a second distinct message never is.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.models import OutboxMessage
from skypanel.worker.run import open_job_queue
from skypanel.worker.tasks import defer_mail
from tests.billing.helpers import subscribe_at
from tests.billing.test_dunning import SEQUENCE, told, unpaid_month
from tests.mailbox import Mailbox
from tests.serving import free_port
from tests.support import configure_server, credit, make_plan, register

ANCHOR = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
"""In the past, so the worker (on the real clock) finds the messages due and nothing to bill."""
ORGANIZATIONS = 5
SENDING_SECONDS = 0.15


class SlowMailbox(Mailbox):
    """Takes its time over each message, so the worker is killed in the middle of a batch."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(SENDING_SECONDS)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    port = free_port()
    box = SlowMailbox(url=f"smtp://127.0.0.1:{port}")
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _worker(settings: Settings, mailbox: Mailbox) -> subprocess.Popen[bytes]:
    assert settings.database_url is not None
    env = {
        **os.environ,
        "SKYPANEL_DATABASE_URL": settings.database_url,
        "SKYPANEL_SMTP_URL": mailbox.url,
        "SKYPANEL_LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "skypanel", "worker", "--concurrency", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s")


async def test_each_dunning_email_arrives_once_though_the_sending_worker_is_killed(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    settings: Settings,
    easypanel: RunningEmulator,
    mailbox: Mailbox,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    started = time.monotonic()
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    plan = await make_plan(committed, price_cents=1000)
    accounts = [await register(live_client) for _ in range(ORGANIZATIONS)]
    for account in accounts:
        await credit(committed, account.organization_id, 1000)
        await subscribe_at(live_client, account, plan, ANCHOR)
    await unpaid_month(live_client, committed, ANCHOR, timedelta(hours=12))
    async with committed() as session:
        outbox = {
            f"<{m.message_id}@skypanel.invalid>"
            for m in await session.scalars(select(OutboxMessage))
        }
    assert len(outbox) == ORGANIZATIONS * (len(SEQUENCE) + 1)  # and the address confirmation

    async with open_job_queue(settings):
        workers.append(_worker(settings, mailbox))
        await defer_mail()

        async def some_sent() -> bool:
            return len(mailbox.messages) >= len(outbox) // 3

        await _until(some_sent, 30, "the first worker did not start sending")
        workers[0].kill()
        workers[0].wait(timeout=10)
        killed_after = len(mailbox.messages)
        assert killed_after < len(outbox)
        async with committed() as session:
            # The dead worker's claims would be free again after their five-minute lease.
            await session.execute(
                text(
                    "UPDATE outbox_messages SET lease_expires_at = now() - interval '1 second'"
                    " WHERE status = 'sending'"
                )
            )
            await session.commit()
        workers.append(_worker(settings, mailbox))
        await defer_mail()

        async def all_sent() -> bool:
            async with committed() as session:
                left = await session.scalar(
                    text("SELECT count(*) FROM outbox_messages WHERE status <> 'sent'")
                )
            return int(left) == 0

        await _until(all_sent, 30, "the second worker did not send the rest")

    received = Counter(str(m["Message-ID"]) for m in mailbox.messages)
    resent = sum(n - 1 for n in received.values())
    assert set(received) == outbox
    assert resent <= 2  # at most one in flight per mail job of the killed worker (2 slots)
    for account in accounts:
        assert sorted(set(told(mailbox, account.email))) == sorted(SEQUENCE)
    print(  # noqa: T201 (shown with -s)
        f"\ndunning kill: {len(outbox)} messages, worker killed after {killed_after},"
        f" resent with the same Message-ID: {resent}, {time.monotonic() - started:.1f} s"
    )
    assert time.monotonic() - started < 60
