from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey

LIVE = ("active", "past_due", "suspended")


class ContainerSubscription(UUIDPrimaryKey, Timestamps, Base):
    """An organization's plan. `past_due`: a renewal failed and the grace period runs."""

    __tablename__ = "container_subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'past_due', 'suspended', 'cancelled')", name="status"
        ),
        CheckConstraint(
            "provisioning_status IN ('pending', 'ready', 'failed')", name="provisioning_status"
        ),
        Index(
            "uq_container_subscriptions_one_live",
            "organization_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index(
            "ix_container_subscriptions_due",
            "current_period_end",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(None, "status"),
        Index("ix_container_subscriptions_newest", "created_at", "id"),
        Index("ix_container_subscriptions_status_newest", "status", "created_at", "id"),
        Index(
            "ix_container_subscriptions_organization_newest",
            "organization_id",
            "created_at",
            "id",
        ),
        Index("ix_container_subscriptions_server_newest", "server_id", "created_at", "id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_plans.id", ondelete="RESTRICT")
    )
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    anchor_at: Mapped[datetime]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    periods_billed: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    grace_until: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    provisioning_status: Mapped[str] = mapped_column(String(16), server_default="pending")
    provisioning_error: Mapped[str | None] = mapped_column(String(1000))
    easypanel_user_id: Mapped[str | None] = mapped_column(String(255))
    easypanel_user_email: Mapped[str | None] = mapped_column(String(255))
    easypanel_password_encrypted: Mapped[str | None] = mapped_column(info=ENCRYPTED)
    suspended_services: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")


class BillingCycle(UUIDPrimaryKey, Timestamps, Base):
    """One charge for one period of a subscription.

    A period is paid at most once: no two paid cycles of a subscription overlap over their paid
    service, `[billing_period_start, coalesce(effective_end, billing_period_end))`, an exclusion
    constraint. `effective_end` is where a plan change or a cancellation ended the paid service
    early; the period the cycle was billed for stays as it was. A renewal (or first charge) is
    also unique per period start, which makes billing runs idempotent.
    """

    __tablename__ = "container_billing_cycles"
    __table_args__ = (
        Index(
            "uq_container_billing_cycles_renewal_period_start",
            "subscription_id",
            "billing_period_start",
            unique=True,
            postgresql_where=text("kind <> 'proration'"),
        ),
        # The subscription is compared as two point boxes holding its id's 128 bits (core
        # GiST operators; btree_gist is not in every PostgreSQL): see revision 1a2b3c4d5e60.
        ExcludeConstraint(
            (text("skypanel_uuid_high(subscription_id)"), "&&"),
            (text("skypanel_uuid_low(subscription_id)"), "&&"),
            (
                text(
                    "tstzrange(billing_period_start, coalesce(effective_end, billing_period_end))"
                ),
                "&&",
            ),
            name="ex_container_billing_cycles_paid_once",
            using="gist",
            where=text(
                "status IN ('pending', 'billed', 'refunded')"
                " AND billing_period_start <= billing_period_end"
            ),
        ),
        CheckConstraint(
            "status IN ('pending', 'billed', 'failed', 'refunded', 'void')", name="status"
        ),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        CheckConstraint("billing_period_start <= billing_period_end", name="period_in_order"),
        CheckConstraint(
            "effective_end IS NULL"
            " OR (effective_end >= billing_period_start AND effective_end <= billing_period_end)",
            name="effective_end_within_period",
        ),
        Index(None, "organization_id", "billing_period_start"),
        Index(None, "billing_period_start", "billing_period_end"),
        Index(
            "ix_container_billing_cycles_failed",
            "subscription_id",
            postgresql_where=text("status = 'failed'"),
        ),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_subscriptions.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_plans.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16), server_default="renewal")
    billing_period_start: Mapped[datetime]
    billing_period_end: Mapped[datetime]
    effective_end: Mapped[datetime | None]
    monthly_rate_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    payment_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_transactions.id", ondelete="RESTRICT")
    )


class IdempotencyKey(UUIDPrimaryKey, Base):
    """A client's `Idempotency-Key` (the guide's `easypanel_idempotency_keys`), kept 24 hours."""

    __tablename__ = "easypanel_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("organization_id", "operation", "idempotency_key"),
        Index(None, "expires_at"),
    )

    operation: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    request_hash: Mapped[str] = mapped_column(String(64))
    response_data: Mapped[Any | None] = mapped_column(JSONB)
    response_status: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    expires_at: Mapped[datetime]
