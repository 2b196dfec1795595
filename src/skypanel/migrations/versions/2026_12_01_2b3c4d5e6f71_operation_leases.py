"""Operations end, in order: a delivery lease, a sequence per subject, dependencies.

`seq` orders the operations of one subject (a service, a project): only the oldest unfinished
one is delivered. `depends_on` lists operations that must finish first (a service waits for its
project's creation). `lease_expires_at` is renewed while a delivery works; a delivery whose lease
ran out (a crashed worker) is taken up again.

Revision ID: 2b3c4d5e6f71
Revises: 1a2b3c4d5e60
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2b3c4d5e6f71"
down_revision: str | None = "1a2b3c4d5e60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_FLIGHT = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "easypanel_operations",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.add_column(
        "easypanel_operations",
        sa.Column(
            "depends_on",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "easypanel_operations",
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_easypanel_operations_subject_in_flight",
        "easypanel_operations",
        ["subject_id", "seq"],
        postgresql_where=_IN_FLIGHT,
    )
    op.create_index(
        "ix_easypanel_operations_running",
        "easypanel_operations",
        ["lease_expires_at"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_easypanel_operations_status_created",
        "easypanel_operations",
        ["status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_easypanel_operations_status_created", table_name="easypanel_operations")
    op.drop_index("ix_easypanel_operations_running", table_name="easypanel_operations")
    op.drop_index("ix_easypanel_operations_subject_in_flight", table_name="easypanel_operations")
    op.drop_column("easypanel_operations", "lease_expires_at")
    op.drop_column("easypanel_operations", "depends_on")
    op.drop_column("easypanel_operations", "seq")
