"""Backups: the storage provider, schedules and runs of database and volume backups.

Revision ID: d3e4f5a6b7c8
Revises: c2d3e4f5a6b7
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3e4f5a6b7c8"
down_revision: str | None = "c2d3e4f5a6b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "backup_storage",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(16), nullable=False, server_default="default"),
        sa.Column("endpoint", sa.String(500), nullable=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("access_key_id", sa.String(256), nullable=False),
        sa.Column("secret_encrypted", sa.String(), nullable=False),
        sa.Column("secret_last4", sa.String(4), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("name = 'default'", name=op.f("ck_backup_storage_one")),
        sa.UniqueConstraint("name", name=op.f("uq_backup_storage_name")),
    )
    op.create_table(
        "backup_storage_servers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "server_id",
            sa.Uuid(),
            sa.ForeignKey("easypanel_config.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider_id", sa.String(64), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("server_id", name=op.f("uq_backup_storage_servers_server_id")),
    )
    op.create_table(
        "backup_schedules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Uuid(),
            sa.ForeignKey("container_services.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("retention", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("easypanel_backup_id", sa.String(64), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("retention >= 1", name=op.f("ck_backup_schedules_retention")),
        sa.UniqueConstraint("service_id", name=op.f("uq_backup_schedules_service_id")),
    )
    op.create_index(
        op.f("ix_backup_schedules_organization_id"), "backup_schedules", ["organization_id"]
    )
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Uuid(),
            sa.ForeignKey("container_services.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "server_id",
            sa.Uuid(),
            sa.ForeignKey("easypanel_config.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("database_name", sa.String(64), nullable=False),
        sa.Column("key", sa.String(1024), nullable=True),
        sa.Column("easypanel_action_id", sa.String(64), nullable=True),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')", name=op.f("ck_backup_runs_state")
        ),
        sa.UniqueConstraint(
            "server_id",
            "easypanel_action_id",
            name=op.f("uq_backup_runs_server_id_easypanel_action_id"),
        ),
    )
    op.create_index(
        op.f("ix_backup_runs_service_id"),
        "backup_runs",
        ["service_id", "requested_at"],
    )
    op.create_index(op.f("ix_backup_runs_organization_id"), "backup_runs", ["organization_id"])


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("backup_runs")
    op.drop_table("backup_schedules")
    op.drop_table("backup_storage_servers")
    op.drop_table("backup_storage")
