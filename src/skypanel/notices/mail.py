"""Sending the outbox: claim due messages, send each over SMTP with no transaction open, record
the outcome.

A claim marks a message `sending` with a lease (two workers never send the same message; one that
died lets its messages go when the lease ends). A message keeps its Message-ID across attempts,
so the one case that sends twice (the SMTP server accepted it, then the worker died before
recording it) reaches the recipient as one message that mail clients collapse. Failures come back
with growing delays; after `MAX_ATTEMPTS` the message is `failed` with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import OutboxMessage
from skypanel.notices.kinds import KINDS
from skypanel.notices.service import words

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)
BATCH = 50
SENT = "(sent)"
"""What a sent message keeps in place of its one-time link token."""
LAYOUT = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

Branding = Callable[[AsyncSession], Awaitable[dict[str, Any]]]
"""Reads the panel's name, logo and colour (`branding` platform setting) for the layout."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """`smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start)."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SKYPANEL_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
        )


def render(
    message: OutboxMessage, brand: dict[str, Any], public_url: str, sender: str
) -> EmailMessage:
    kind = KINDS[message.template]
    data = message.data
    subject = words(kind.subject, data)
    link = public_url.rstrip("/") + words(kind.link, data) if kind.link else None
    context = {
        "subject": subject,
        "body": words(kind.body, data),
        "link": link,
        "action": kind.action,
        "brand": brand,
    }
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = sender
    email["To"] = message.recipient
    domain = parseaddr(sender)[1].rpartition("@")[2] or "skypanel.invalid"
    email["Message-ID"] = f"<{message.message_id}@{domain}>"
    email["X-SkyPanel-Event"] = kind.type
    email.set_content(LAYOUT.get_template("email.txt").render(context))
    email.add_alternative(LAYOUT.get_template("email.html").render(context), subtype="html")
    return email


class Mailer:
    """Sends what is due in the outbox; without `SKYPANEL_SMTP_URL` the outbox only fills up."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, branding: Branding
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._branding = branding
        url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        self._server = SmtpServer.from_url(url) if url else None

    async def __call__(self) -> int:
        return await self.deliver_due()

    async def deliver_due(self) -> int:
        """Send every due message (in batches); the number sent."""
        if self._server is None:
            return 0
        sent = 0
        while True:
            claimed, brand = await self._claim()
            if not claimed:
                return sent
            for message in claimed:
                sent += await self._send(message, brand)

    async def _claim(self) -> tuple[list[OutboxMessage], dict[str, Any]]:
        now = clock.now()
        async with transaction(self._sessions) as session:
            due = (
                select(OutboxMessage.id)
                .where(
                    or_(
                        and_(
                            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
                        ),
                        and_(
                            OutboxMessage.status == "sending",
                            OutboxMessage.lease_expires_at < now,
                        ),
                    )
                )
                .order_by(OutboxMessage.next_attempt_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            claimed = (
                await session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(due.scalar_subquery()))
                    .values(
                        status="sending",
                        lease_expires_at=now + LEASE,
                        attempts=OutboxMessage.attempts + 1,
                    )
                    .returning(OutboxMessage)
                )
            ).all()
            brand = await self._branding(session) if claimed else {}
        return list(claimed), brand

    async def _send(self, message: OutboxMessage, brand: dict[str, Any]) -> int:
        assert self._server is not None
        server = self._server
        email = render(message, brand, self._settings.public_url, self._settings.mail_from)
        try:
            _, said = await aiosmtplib.send(
                email,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                timeout=20,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(message, f"{type(exc).__name__}: {exc}"[:1000])
            return 0
        await self._record(message, said[:255])
        return 1

    async def _record(self, message: OutboxMessage, said: str) -> None:
        """Sent: and a one-time link leaves the database with it (`Kind.secret`)."""
        data = message.data
        if KINDS[message.template].secret:
            data = {**data, "token": SENT}
        async with transaction(self._sessions) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(
                    status="sent",
                    sent_at=clock.now(),
                    provider_message_id=said,
                    lease_expires_at=None,
                    last_error=None,
                    data=data,
                )
            )

    async def _failed(self, message: OutboxMessage, error: str) -> None:
        final = message.attempts >= MAX_ATTEMPTS
        delay = timedelta(minutes=min(2 ** (message.attempts - 1), 60))
        log.warning(
            "mail.send_failed",
            template=message.template,
            attempts=message.attempts,
            error=error,
            final=final,
        )
        async with transaction(self._sessions) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(
                    status="failed" if final else "pending",
                    next_attempt_at=clock.now() + delay,
                    lease_expires_at=None,
                    last_error=error,
                )
            )
