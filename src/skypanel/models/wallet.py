from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey

KINDS = ("credit", "debit", "refund", "adjustment")


class Wallet(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="balance_not_negative"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    balance_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")


class PaymentTransaction(UUIDPrimaryKey, Base):
    """One line of a wallet's append-only ledger (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        UniqueConstraint("wallet_id", "idempotency_key"),
        CheckConstraint("balance_after_cents >= 0", name="balance_after_not_negative"),
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
        CheckConstraint(
            "(kind IN ('credit', 'refund') AND amount_cents > 0)"
            " OR (kind = 'debit' AND amount_cents < 0) OR kind = 'adjustment'",
            name="kind_sign",
        ),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "reference_type", "reference_id"),
    )

    wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    balance_after_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    reference_type: Mapped[str | None] = mapped_column(String(64))
    reference_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
