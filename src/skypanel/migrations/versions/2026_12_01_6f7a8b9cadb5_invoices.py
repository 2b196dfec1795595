"""Invoices, receipts and credit notes; billing profiles; tax rates; document counters.

Issued documents are legal records: the append-only trigger of the ledger
(`skypanel_append_only`, from the foundation revision) refuses UPDATE and DELETE on them, and an
organization with documents cannot be deleted (RESTRICT), since they must be kept.

Revision ID: 6f7a8b9cadb5
Revises: 5e6f7a8b9ca4
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6f7a8b9cadb5"
down_revision: str | None = "5e6f7a8b9ca4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "billing_profiles",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=True),
        sa.Column("is_business", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "country ~ '^[A-Z]{2}$'", name=op.f("ck_billing_profiles_country_alpha2")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_profiles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_billing_profiles")),
    )
    op.create_table(
        "tax_rates",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "rate_bps BETWEEN 0 AND 10000", name=op.f("ck_tax_rates_rate_bps_range")
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_tax_rates_country_alpha2")),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_tax_rates")),
    )
    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year", name=op.f("pk_document_counters")),
    )
    op.create_table(
        "billing_documents",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_cents", sa.BigInteger(), nullable=False),
        sa.Column("tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_bps", sa.Integer(), nullable=False),
        sa.Column("tax_name", sa.String(length=40), nullable=True),
        sa.Column("tax_mention", sa.Text(), nullable=True),
        sa.Column("seller", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("buyer", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reference_type", sa.String(length=64), nullable=False),
        sa.Column("reference_id", sa.Uuid(), nullable=False),
        sa.Column("related_document_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note', 'receipt')",
            name=op.f("ck_billing_documents_kind"),
        ),
        sa.CheckConstraint(
            "total_cents = subtotal_cents + tax_cents",
            name=op.f("ck_billing_documents_total_adds_up"),
        ),
        sa.CheckConstraint(
            "total_cents >= 0 AND tax_cents >= 0", name=op.f("ck_billing_documents_not_negative")
        ),
        sa.CheckConstraint(
            "related_document_id IS NULL OR kind = 'credit_note'",
            name=op.f("ck_billing_documents_related_credit_note"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_documents_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["related_document_id"],
            ["billing_documents.id"],
            name=op.f("fk_billing_documents_related_document_id_billing_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_billing_documents_number")),
        sa.UniqueConstraint(
            "kind",
            "reference_type",
            "reference_id",
            name=op.f("uq_billing_documents_kind_reference_type_reference_id"),
        ),
    )
    op.create_index(
        op.f("ix_billing_documents_organization_id"),
        "billing_documents",
        ["organization_id", "issued_at", "id"],
        unique=False,
    )
    op.execute(
        "CREATE TRIGGER billing_documents_append_only BEFORE UPDATE OR DELETE"
        " ON billing_documents FOR EACH ROW EXECUTE FUNCTION skypanel_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER billing_documents_append_only ON billing_documents")
    op.drop_index(op.f("ix_billing_documents_organization_id"), table_name="billing_documents")
    op.drop_table("billing_documents")
    op.drop_table("document_counters")
    op.drop_table("tax_rates")
    op.drop_table("billing_profiles")
