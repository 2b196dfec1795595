"""The billing claim's index covers its whole order (period end, then id).

Renewals are claimed in batches ordered by (current_period_end, id), each starting after the
previous batch's last row. With the period end alone in the index, subscriptions due at the same
moment had to be read and sorted in full by every batch, so a run cost grew with the square of
what was due at once.

Revision ID: 4f0c2b7d9e13
Revises: 6561148cf1c1
Create Date: 2026-11-22 02:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f0c2b7d9e13"
down_revision: str | None = "6561148cf1c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.drop_index("ix_container_subscriptions_due", table_name="container_subscriptions")
    op.create_index(
        "ix_container_subscriptions_due",
        "container_subscriptions",
        ["current_period_end", "id"],
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_container_subscriptions_due", table_name="container_subscriptions")
    op.create_index(
        "ix_container_subscriptions_due",
        "container_subscriptions",
        ["current_period_end"],
        postgresql_where=_ACTIVE,
    )
