"""The document side of billing: invoices, credit notes and receipts, and what they are built from.

Documents are legal records: once issued, a trigger refuses any UPDATE or DELETE, and their seller,
buyer and lines are snapshots, so a later change of address or tax rate never rewrites history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from skypanel.kit import clock
from skypanel.models.base import Base, UUIDPrimaryKey

DOCUMENT_KINDS = ("invoice", "credit_note", "receipt")


class BillingProfile(Base):
    """Who an organization's documents are addressed to (one per organization)."""

    __tablename__ = "billing_profiles"
    __table_args__ = (CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_alpha2"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    legal_name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    is_business: Mapped[bool] = mapped_column(Boolean, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(
        default=clock.now, server_default=func.now(), onupdate=clock.now
    )


class TaxRate(Base):
    """The rate the platform charges buyers in one country (set by an administrator)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_bps_range"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_alpha2"),
    )

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    rate_bps: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(
        default=clock.now, server_default=func.now(), onupdate=clock.now
    )


class DocumentCounter(Base):
    """The last number issued per document kind and year. Its row is locked by the transaction
    that issues a document, so numbers are consecutive: a rollback takes its number back."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class BillingDocument(UUIDPrimaryKey, Base):
    """An issued invoice, credit note or receipt (immutable: a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "billing_documents"
    __table_args__ = (
        UniqueConstraint("kind", "reference_type", "reference_id"),
        CheckConstraint("kind IN ('invoice', 'credit_note', 'receipt')", name="kind"),
        CheckConstraint("total_cents = subtotal_cents + tax_cents", name="total_adds_up"),
        CheckConstraint("total_cents >= 0 AND tax_cents >= 0", name="not_negative"),
        CheckConstraint(
            "related_document_id IS NULL OR kind = 'credit_note'", name="related_credit_note"
        ),
        Index(None, "organization_id", "issued_at", "id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int] = mapped_column(BigInteger)
    tax_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    tax_rate_bps: Mapped[int] = mapped_column(Integer)
    tax_name: Mapped[str | None] = mapped_column(String(40))
    tax_mention: Mapped[str | None] = mapped_column(Text)
    seller: Mapped[dict[str, Any]] = mapped_column(JSONB)
    buyer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    reference_type: Mapped[str] = mapped_column(String(64))
    reference_id: Mapped[uuid.UUID] = mapped_column()
    related_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billing_documents.id", ondelete="RESTRICT")
    )

    created_at: Mapped[datetime] = synonym("issued_at")
    """The keyset pagination helpers (`skypanel.kit.pagination`) read `created_at`."""
