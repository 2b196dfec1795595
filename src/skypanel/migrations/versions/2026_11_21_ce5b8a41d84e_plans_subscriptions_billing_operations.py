"""Plans, subscriptions and billing cycles, idempotency keys, Easypanel operations and audit
log, and the job queue's (procrastinate's) schema.

Revision ID: ce5b8a41d84e
Revises: e5825cbcb66b
Create Date: 2026-11-21 23:34:47.562189
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql
from sqlalchemy.util import await_only

revision: str = "ce5b8a41d84e"
down_revision: str | None = "e5825cbcb66b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _apply_job_queue_schema()
    op.create_table(
        "container_plans",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_monthly_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("max_cpu_cores", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("max_memory_gb", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("max_storage_gb", sa.Integer(), nullable=False),
        sa.Column("max_containers", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
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
            "max_containers > 0", name=op.f("ck_container_plans_containers_positive")
        ),
        sa.CheckConstraint("max_cpu_cores > 0", name=op.f("ck_container_plans_cpu_positive")),
        sa.CheckConstraint("max_memory_gb > 0", name=op.f("ck_container_plans_memory_positive")),
        sa.CheckConstraint("max_storage_gb > 0", name=op.f("ck_container_plans_storage_positive")),
        sa.CheckConstraint(
            "price_monthly_cents >= 0", name=op.f("ck_container_plans_price_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_plans")),
    )
    op.create_index(
        op.f("ix_container_plans_active"),
        "container_plans",
        ["active", "price_monthly_cents"],
        unique=False,
    )
    op.create_table(
        "container_subscriptions",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("periods_billed", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "provisioning_status", sa.String(length=16), server_default="pending", nullable=False
        ),
        sa.Column("provisioning_error", sa.String(length=1000), nullable=True),
        sa.Column("easypanel_user_id", sa.String(length=255), nullable=True),
        sa.Column("easypanel_user_email", sa.String(length=255), nullable=True),
        sa.Column("easypanel_password_encrypted", sa.String(), nullable=True),
        sa.Column(
            "suspended_services",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
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
            "provisioning_status IN ('pending', 'ready', 'failed')",
            name=op.f("ck_container_subscriptions_provisioning_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'past_due', 'suspended', 'cancelled')",
            name=op.f("ck_container_subscriptions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_container_subscriptions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["container_plans.id"],
            name=op.f("fk_container_subscriptions_plan_id_container_plans"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["easypanel_config.id"],
            name=op.f("fk_container_subscriptions_server_id_easypanel_config"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_subscriptions")),
    )
    op.create_index(
        "ix_container_subscriptions_due",
        "container_subscriptions",
        ["current_period_end"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        op.f("ix_container_subscriptions_status"),
        "container_subscriptions",
        ["status"],
        unique=False,
    )
    op.create_index(
        "uq_container_subscriptions_one_live",
        "container_subscriptions",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_table(
        "easypanel_audit_log",
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("operation_id", sa.UUID(), nullable=True),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_easypanel_audit_log_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["easypanel_config.id"],
            name=op.f("fk_easypanel_audit_log_server_id_easypanel_config"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_easypanel_audit_log")),
    )
    op.create_index(
        op.f("ix_easypanel_audit_log_operation"),
        "easypanel_audit_log",
        ["operation", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_easypanel_audit_log_organization_id"),
        "easypanel_audit_log",
        ["organization_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_easypanel_audit_log_request_id"),
        "easypanel_audit_log",
        ["request_id"],
        unique=False,
    )
    op.create_table(
        "easypanel_idempotency_keys",
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_easypanel_idempotency_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_easypanel_idempotency_keys")),
        sa.UniqueConstraint(
            "organization_id",
            "operation",
            "idempotency_key",
            name=op.f("uq_easypanel_idempotency_keys_organization_id_operation_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_easypanel_idempotency_keys_expires_at"),
        "easypanel_idempotency_keys",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "easypanel_operations",
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("8"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
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
            "status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_easypanel_operations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_easypanel_operations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["easypanel_config.id"],
            name=op.f("fk_easypanel_operations_server_id_easypanel_config"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_easypanel_operations")),
    )
    op.create_index(
        "ix_easypanel_operations_due",
        "easypanel_operations",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_easypanel_operations_organization_id"),
        "easypanel_operations",
        ["organization_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_easypanel_operations_subject_type"),
        "easypanel_operations",
        ["subject_type", "subject_id"],
        unique=False,
    )
    op.create_index(
        "uq_easypanel_operations_in_flight",
        "easypanel_operations",
        ["dedupe_key"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.create_table(
        "container_billing_cycles",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="renewal", nullable=False),
        sa.Column("billing_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("billing_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monthly_rate_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("payment_transaction_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
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
            "status IN ('pending', 'billed', 'failed', 'refunded', 'void')",
            name=op.f("ck_container_billing_cycles_status"),
        ),
        sa.CheckConstraint(
            "amount_cents >= 0", name=op.f("ck_container_billing_cycles_amount_not_negative")
        ),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name=op.f("ck_container_billing_cycles_refund_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_container_billing_cycles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_transaction_id"],
            ["payment_transactions.id"],
            name=op.f("fk_container_billing_cycles_payment_transaction_id_payment_transactions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["container_plans.id"],
            name=op.f("fk_container_billing_cycles_plan_id_container_plans"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["container_subscriptions.id"],
            name=op.f("fk_container_billing_cycles_subscription_id_container_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_billing_cycles")),
        sa.UniqueConstraint(
            "subscription_id",
            "billing_period_start",
            name=op.f("uq_container_billing_cycles_subscription_id_billing_period_start"),
        ),
    )
    op.create_index(
        op.f("ix_container_billing_cycles_billing_period_start"),
        "container_billing_cycles",
        ["billing_period_start", "billing_period_end"],
        unique=False,
    )
    op.create_index(
        "ix_container_billing_cycles_failed",
        "container_billing_cycles",
        ["subscription_id"],
        unique=False,
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.create_index(
        op.f("ix_container_billing_cycles_organization_id"),
        "container_billing_cycles",
        ["organization_id", "billing_period_start"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_container_billing_cycles_organization_id"), table_name="container_billing_cycles"
    )
    op.drop_index(
        "ix_container_billing_cycles_failed",
        table_name="container_billing_cycles",
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.drop_index(
        op.f("ix_container_billing_cycles_billing_period_start"),
        table_name="container_billing_cycles",
    )
    op.drop_table("container_billing_cycles")
    op.drop_index(
        "uq_easypanel_operations_in_flight",
        table_name="easypanel_operations",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.drop_index(op.f("ix_easypanel_operations_subject_type"), table_name="easypanel_operations")
    op.drop_index(
        op.f("ix_easypanel_operations_organization_id"), table_name="easypanel_operations"
    )
    op.drop_index(
        "ix_easypanel_operations_due",
        table_name="easypanel_operations",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("easypanel_operations")
    op.drop_index(
        op.f("ix_easypanel_idempotency_keys_expires_at"), table_name="easypanel_idempotency_keys"
    )
    op.drop_table("easypanel_idempotency_keys")
    op.drop_index(op.f("ix_easypanel_audit_log_request_id"), table_name="easypanel_audit_log")
    op.drop_index(op.f("ix_easypanel_audit_log_organization_id"), table_name="easypanel_audit_log")
    op.drop_index(op.f("ix_easypanel_audit_log_operation"), table_name="easypanel_audit_log")
    op.drop_table("easypanel_audit_log")
    op.drop_index(
        "uq_container_subscriptions_one_live",
        table_name="container_subscriptions",
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.drop_index(op.f("ix_container_subscriptions_status"), table_name="container_subscriptions")
    op.drop_index(
        "ix_container_subscriptions_due",
        table_name="container_subscriptions",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("container_subscriptions")
    op.drop_index(op.f("ix_container_plans_active"), table_name="container_plans")
    op.drop_table("container_plans")


def _apply_job_queue_schema() -> None:
    """Procrastinate's schema, as shipped by the pinned version (multi-statement SQL, so it goes
    through the driver's simple-query path rather than a prepared statement)."""
    raw = op.get_bind().connection.driver_connection
    assert raw is not None
    await_only(raw.execute(SchemaManager.get_schema()))
