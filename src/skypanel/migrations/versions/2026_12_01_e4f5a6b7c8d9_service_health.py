"""Service health: when a service's run began and since when it keeps crashing.

Revision ID: e4f5a6b7c8d9
Revises: d3e4f5a6b7c8
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4f5a6b7c8d9"
down_revision: str | None = "d3e4f5a6b7c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("container_services", sa.Column("started_at", sa.DateTime(timezone=True)))
    op.add_column(
        "container_services", sa.Column("crash_looping_since", sa.DateTime(timezone=True))
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("container_services", "crash_looping_since")
    op.drop_column("container_services", "started_at")
