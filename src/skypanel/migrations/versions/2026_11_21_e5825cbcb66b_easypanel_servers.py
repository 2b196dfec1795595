"""Easypanel servers (the seed's easypanel_config), API keys encrypted at rest.

Revision ID: e5825cbcb66b
Revises: db2600676d72
Create Date: 2026-11-21 23:31:28.054201
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5825cbcb66b"
down_revision: str | None = "db2600676d72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "easypanel_config",
        sa.Column("name", sa.String(length=100), server_default="default", nullable=False),
        sa.Column("api_url", sa.String(length=500), nullable=False),
        sa.Column("api_key_encrypted", sa.String(), nullable=False),
        sa.Column("api_key_last4", sa.String(length=4), nullable=False),
        sa.Column("dialect", sa.String(length=8), server_default="auto", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_connection_test", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connection_status", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("detected_dialect", sa.String(length=8), nullable=True),
        sa.Column("server_version", sa.String(length=32), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
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
            "dialect IN ('auto', 'orpc', 'trpc')", name=op.f("ck_easypanel_config_dialect")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_easypanel_config")),
    )
    op.create_index(
        "uq_easypanel_config_one_default",
        "easypanel_config",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_easypanel_config_one_default",
        table_name="easypanel_config",
        postgresql_where=sa.text("is_default"),
    )
    op.drop_table("easypanel_config")
