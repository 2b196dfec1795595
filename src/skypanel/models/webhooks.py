"""Signed webhooks: the endpoints organizations and the platform register, one delivery per
endpoint and event, and the log of every attempt.

A delivery's id is the `webhook-id` header of each of its attempts, so a receiver that got an
attempt whose answer was lost recognises the retry. The unique (endpoint, event) pair makes
queueing idempotent: an event is queued once per endpoint however often `queue` runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    """A URL that receives the events it subscribes to (`*`: all); no organization means the
    platform's, which receives every organization's events."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "organization_id", "created_at"),)

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    secret_encrypted: Mapped[str] = mapped_column(Text, info=ENCRYPTED)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    failing_since: Mapped[datetime | None]
    """The first failed attempt since the last success; three days of it turn the endpoint off."""
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One event for one endpoint: pending -> sending -> delivered, or failed once its three
    days of retries are over (an admin or the owner may send it again)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("status IN ('pending', 'sending', 'delivered', 'failed')", name="status"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        Index(None, "endpoint_id", "created_at"),
        Index(None, "event_id"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Attempts in the current round (a manual redelivery starts a new one)."""
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    first_attempt_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class WebhookAttempt(UUIDPrimaryKey, Base):
    """One request to an endpoint and what came back: the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index(None, "delivery_id", "attempted_at"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
