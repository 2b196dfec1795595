"""Moves of an organization to another server: one row per move, its steps are operations.

Revision ID: d9e0f1a2b3c4
Revises: c8d9e0f1a2b3
Create Date: 2026-12-01 16:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9e0f1a2b3c4"
down_revision: str | None = "c8d9e0f1a2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _server(column: str) -> sa.Column[object]:
    return sa.Column(
        column,
        sa.Uuid(),
        sa.ForeignKey(
            "easypanel_config.id",
            ondelete="RESTRICT",
            name=op.f(f"fk_organization_moves_{column}_easypanel_config"),
        ),
        nullable=False,
    )


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "organization_moves",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name=op.f("fk_organization_moves_organization_id_organizations"),
            ),
            nullable=False,
        ),
        _server("source_server_id"),
        _server("target_server_id"),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("steps_total", sa.Integer(), nullable=False),
        sa.Column("steps_done", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_organization_moves_state"),
        ),
        sa.CheckConstraint(
            "steps_done BETWEEN 0 AND steps_total", name=op.f("ck_organization_moves_steps_done")
        ),
    )
    op.create_index(
        "uq_organization_moves_one_unfinished",
        "organization_moves",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('pending', 'running')"),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("organization_moves")
