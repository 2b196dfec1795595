"""Servers as a fleet: region, capacity, overcommit and state per server; plans limited to regions.

Revision ID: f5a6b7c8d9e0
Revises: a6b7c8d9e0f1
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f5a6b7c8d9e0"
down_revision: str | None = "a6b7c8d9e0f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "easypanel_config"
CHECKS = {
    "state": "state IN ('active', 'draining', 'down', 'retired')",
    "active_matches_state": "active = (state <> 'retired')",
    "capacity_source": "capacity_source IN ('manual', 'reported')",
    "overcommit_positive": "overcommit_ratio > 0",
    "manual_capacity_set": (
        "capacity_source = 'reported' OR (capacity_cpus IS NOT NULL"
        " AND capacity_memory_gb IS NOT NULL AND capacity_storage_gb IS NOT NULL)"
    ),
}
NUMBERS = {
    "capacity_cpus": (8, 2),
    "capacity_memory_gb": (10, 2),
    "capacity_storage_gb": (12, 2),
    "used_cpu_percent": (6, 2),
    "used_memory_gb": (10, 2),
    "used_storage_gb": (12, 2),
}


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        TABLE, sa.Column("region", sa.String(64), server_default="default", nullable=False)
    )
    op.add_column(TABLE, sa.Column("state", sa.String(16), server_default="active", nullable=False))
    for column, (precision, scale) in NUMBERS.items():
        op.add_column(TABLE, sa.Column(column, sa.Numeric(precision, scale)))
    op.add_column(
        TABLE,
        sa.Column("capacity_source", sa.String(8), server_default="reported", nullable=False),
    )
    op.add_column(
        TABLE,
        sa.Column("overcommit_ratio", sa.Numeric(5, 2), server_default="1.0", nullable=False),
    )
    op.add_column(
        TABLE, sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(TABLE, sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    # Servers switched off before the fleet existed are retired; the rest stay active.
    op.execute(f"UPDATE {TABLE} SET state = 'retired' WHERE NOT active")
    # Names become unique: older rows all defaulted to "default".
    op.execute(
        f"UPDATE {TABLE} SET name = left(name, 90) || '-' || left(id::text, 8)"
        f" WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY name"
        f" ORDER BY is_default DESC, created_at) AS n FROM {TABLE}) AS ranked WHERE n > 1)"
    )
    for name, condition in CHECKS.items():
        op.create_check_constraint(op.f(f"ck_{TABLE}_{name}"), TABLE, condition)
    op.create_index("uq_easypanel_config_name", TABLE, ["name"], unique=True)
    op.add_column(
        "container_plans",
        sa.Column("regions", postgresql.ARRAY(sa.String(64)), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("container_plans", "regions")
    op.drop_index("uq_easypanel_config_name", table_name=TABLE)
    for name in CHECKS:
        op.drop_constraint(op.f(f"ck_{TABLE}_{name}"), TABLE, type_="check")
    for column in (
        "last_seen_at",
        "consecutive_failures",
        "overcommit_ratio",
        "capacity_source",
        *NUMBERS,
        "state",
        "region",
    ):
        op.drop_column(TABLE, column)
