"""Money coming in from payment providers: top-ups and the provider notifications applied.

A top-up is credited only from the provider's verified word (a signed notification, or the
provider's API read with our own key). The ledger entry's idempotency key and the unique
(provider, payment id) make a payment credit at most once, however often it is reported.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey

PROVIDERS = ("stripe", "paypal")
TOP_UP_STATUSES = ("pending", "succeeded", "failed", "expired", "refunded")


class TopUp(UUIDPrimaryKey, Timestamps, Base):
    """A customer's payment into the wallet: pending until the provider says how it ended."""

    __tablename__ = "wallet_top_ups"
    __table_args__ = (
        CheckConstraint("provider IN ('stripe', 'paypal')", name="provider"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'expired', 'refunded')", name="status"
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        UniqueConstraint("provider", "checkout_id"),
        UniqueConstraint("provider", "payment_id"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "status", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    checkout_id: Mapped[str] = mapped_column(String(255))
    """The provider's checkout: a Stripe Checkout Session id, a PayPal order id."""
    checkout_url: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[str | None] = mapped_column(String(255))
    """The provider's payment once it exists: a PaymentIntent id, a PayPal capture id."""
    ledger_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_transactions.id", ondelete="RESTRICT")
    )
    refunded_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[str | None] = mapped_column(Text)
    """Why an admin must look at it (an amount or currency that differs from what was asked)."""
    settled_at: Mapped[datetime | None]
    automatic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    """Charged off-session to the saved card by auto-recharge (no checkout page)."""
    save_card: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    """The payer asked to keep the card for auto-recharge."""


class PaymentNotification(UUIDPrimaryKey, Base):
    """A provider notification, kept once per (provider, event id) with what it did."""

    __tablename__ = "payment_notifications"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index(None, "top_up_id"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    top_up_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("wallet_top_ups.id", ondelete="CASCADE")
    )
    outcome: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class TopUpRefund(UUIDPrimaryKey, Timestamps, Base):
    """Money sent back to the card or PayPal account a top-up came from.

    The wallet is debited when the refund is asked for (under the wallet's lock, so it never
    takes more than is unspent), then the provider is asked; a refund the provider refuses puts
    the amount back in the wallet. A refund left `pending` by a crash is asked again with the
    same idempotency key, so the provider refunds once."""

    __tablename__ = "wallet_top_up_refunds"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index(None, "top_up_id"),
        Index(None, "status", "created_at"),
    )

    top_up_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallet_top_ups.id", ondelete="CASCADE")
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    debit_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_transactions.id", ondelete="RESTRICT")
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)


class AutoRecharge(Base):
    """ "When the balance falls below `threshold`, top up `amount`" with the card saved at a
    Stripe top-up. `armed` makes it fire at most once per crossing: a charge disarms it, and it
    arms again only once the balance is back at or above the threshold."""

    __tablename__ = "wallet_auto_recharges"
    __table_args__ = (
        CheckConstraint("threshold_cents >= 0", name="threshold_not_negative"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    threshold_cents: Mapped[int] = mapped_column(BigInteger, server_default="1000")
    amount_cents: Mapped[int] = mapped_column(BigInteger, server_default="2500")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    armed: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        default=clock.now, server_default=func.now(), onupdate=clock.now
    )


class PaymentGateway(UUIDPrimaryKey, Base):
    """A payment provider as the admins configured it in the console (it takes precedence over
    the `SKYPANEL_STRIPE_*` / `SKYPANEL_PAYPAL_*` environment). Secrets are encrypted."""

    __tablename__ = "payment_gateways"
    __table_args__ = (
        UniqueConstraint("provider"),
        CheckConstraint("provider IN ('stripe', 'paypal')", name="provider"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    test_mode: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    api_base: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str | None] = mapped_column(String(255))
    """PayPal's REST client id (Stripe needs none)."""
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    """PayPal's id of the webhook notifications are verified against."""
    secret_encrypted: Mapped[str] = mapped_column(Text, info=ENCRYPTED)
    """Stripe's secret key, or PayPal's client secret."""
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text, info=ENCRYPTED)
    """Stripe's webhook signing secret."""
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        default=clock.now, server_default=func.now(), onupdate=clock.now
    )
