"""Templates: one-click apps (the seed's container_templates).

Revision ID: bffa418bb8b8
Revises: 9bb64991d1fb
Create Date: 2026-11-22 00:07:17.010873
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "bffa418bb8b8"
down_revision: str | None = "9bb64991d1fb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "container_templates",
        sa.Column("template_name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("template_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("display_order", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("builtin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_templates")),
        sa.UniqueConstraint("template_name", name=op.f("uq_container_templates_template_name")),
    )
    op.create_index(
        op.f("ix_container_templates_enabled"),
        "container_templates",
        ["enabled", "display_order"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_container_templates_enabled"), table_name="container_templates")
    op.drop_table("container_templates")
