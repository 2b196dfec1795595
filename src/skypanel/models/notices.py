"""What happened that people must be told about, and each way it is told.

An `Event` is written once per business fact (its `dedupe_key`), in the transaction of the change
it reports; its messages are rows written with it: an `OutboxMessage` per email, a `Notification`
per person in the panel. The worker sends the emails afterwards, with retries; a message is sent
at most once under normal operation (its `message_id` is stable, so a resend after a crash between
the SMTP server's acceptance and our commit carries the same Message-ID).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey

CATEGORIES = ("billing", "services", "account", "security")


class Event(UUIDPrimaryKey, Base):
    """One fact people are told about, written once (`dedupe_key`) with the change it reports."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index(None, "organization_id", "occurred_at"),
    )

    type: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class OutboxMessage(UUIDPrimaryKey, Timestamps, Base):
    """An email to send: pending -> sending -> sent, or failed after its last attempt."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "template"),
        UniqueConstraint("message_id"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        Index(None, "created_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]


class Notification(UUIDPrimaryKey, Base):
    """A message in a person's panel (the bell), once per event and person."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index(None, "user_id", "created_at"),
        Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class NotificationPreference(Base):
    """Whether a person gets email for a category (in-app messages are always kept)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint(
            "category IN ('billing', 'services', 'account', 'security')", name="category"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
