"""Top-ups paid through a payment provider, and the provider notifications already applied.

`wallet_top_ups` holds each payment a customer starts (Stripe Checkout, PayPal order) until the
provider says how it ended; (provider, payment id) is unique, so one payment can credit a wallet
once. `payment_notifications` keeps each provider event id once, with what it did;
`wallet_top_up_refunds` the refunds admins send back to a top-up's card or PayPal account;
`wallet_auto_recharges` each organization's "top up Y when the balance falls below X";
`payment_gateways` the providers admins configure in the console (secrets encrypted).

Revision ID: 5e6f7a8b9ca4
Revises: 4d5e6f7a8b93
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e6f7a8b9ca4"
down_revision: str | None = "4d5e6f7a8b93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "wallet_top_ups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("checkout_id", sa.String(length=255), nullable=False),
        sa.Column("checkout_url", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.String(length=255), nullable=True),
        sa.Column("ledger_entry_id", sa.Uuid(), nullable=True),
        sa.Column("refunded_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("flagged", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("automatic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("save_card", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('stripe', 'paypal')", name=op.f("ck_wallet_top_ups_provider")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'expired', 'refunded')",
            name=op.f("ck_wallet_top_ups_status"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_wallet_top_ups_amount_positive")),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name=op.f("ck_wallet_top_ups_refund_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_wallet_top_ups_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_wallet_top_ups_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["payment_transactions.id"],
            name=op.f("fk_wallet_top_ups_ledger_entry_id_payment_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_top_ups")),
        sa.UniqueConstraint(
            "provider", "checkout_id", name=op.f("uq_wallet_top_ups_provider_checkout_id")
        ),
        sa.UniqueConstraint(
            "provider", "payment_id", name=op.f("uq_wallet_top_ups_provider_payment_id")
        ),
    )
    op.create_index(
        op.f("ix_wallet_top_ups_organization_id"),
        "wallet_top_ups",
        ["organization_id", "created_at", "id"],
    )
    op.create_index(op.f("ix_wallet_top_ups_status"), "wallet_top_ups", ["status", "created_at"])
    op.create_table(
        "payment_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("top_up_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["top_up_id"],
            ["wallet_top_ups.id"],
            name=op.f("fk_payment_notifications_top_up_id_wallet_top_ups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_notifications")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_payment_notifications_provider_event_id")
        ),
    )
    op.create_index(
        op.f("ix_payment_notifications_top_up_id"), "payment_notifications", ["top_up_id"]
    )
    op.create_table(
        "wallet_top_up_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("top_up_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("debit_entry_id", sa.Uuid(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_wallet_top_up_refunds_status"),
        ),
        sa.CheckConstraint(
            "amount_cents > 0", name=op.f("ck_wallet_top_up_refunds_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["top_up_id"],
            ["wallet_top_ups.id"],
            name=op.f("fk_wallet_top_up_refunds_top_up_id_wallet_top_ups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_wallet_top_up_refunds_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debit_entry_id"],
            ["payment_transactions.id"],
            name=op.f("fk_wallet_top_up_refunds_debit_entry_id_payment_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_top_up_refunds")),
    )
    op.create_index(
        op.f("ix_wallet_top_up_refunds_top_up_id"), "wallet_top_up_refunds", ["top_up_id"]
    )
    op.create_index(
        op.f("ix_wallet_top_up_refunds_status"), "wallet_top_up_refunds", ["status", "created_at"]
    )
    op.create_table(
        "wallet_auto_recharges",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), server_default="1000", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), server_default="2500", nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("armed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "threshold_cents >= 0", name=op.f("ck_wallet_auto_recharges_threshold_not_negative")
        ),
        sa.CheckConstraint(
            "amount_cents > 0", name=op.f("ck_wallet_auto_recharges_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_wallet_auto_recharges_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_wallet_auto_recharges")),
    )
    op.create_table(
        "payment_gateways",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("test_mode", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("api_base", sa.String(length=500), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("webhook_id", sa.String(length=255), nullable=True),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('stripe', 'paypal')", name=op.f("ck_payment_gateways_provider")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_payment_gateways_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_gateways")),
        sa.UniqueConstraint("provider", name=op.f("uq_payment_gateways_provider")),
    )


def downgrade() -> None:
    op.drop_table("payment_gateways")
    op.drop_table("wallet_auto_recharges")
    op.drop_table("wallet_top_up_refunds")
    op.drop_table("payment_notifications")
    op.drop_table("wallet_top_ups")
