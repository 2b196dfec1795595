"""Volume backups: schedules and runs of an app's volume mounts share the database backups'
tables, told apart by `kind` and named by `volume`.

Revision ID: a6b7c8d9e0f1
Revises: e4f5a6b7c8d9
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a6b7c8d9e0f1"
down_revision: str | None = "e4f5a6b7c8d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND = "kind IN ('database', 'volume') AND (kind = 'volume') = (volume IS NOT NULL)"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in ("backup_schedules", "backup_runs"):
        op.add_column(
            table, sa.Column("kind", sa.String(16), nullable=False, server_default="database")
        )
        op.add_column(table, sa.Column("volume", sa.String(64), nullable=True))
        op.create_check_constraint(op.f(f"ck_{table}_kind"), table, _KIND)
    op.alter_column("backup_runs", "database_name", existing_type=sa.String(64), nullable=True)
    op.drop_constraint(op.f("uq_backup_schedules_service_id"), "backup_schedules", type_="unique")
    # One schedule per database and per volume (an expression index: NULLS NOT DISTINCT would
    # need PostgreSQL 15, the panel runs on 13 and later).
    op.execute(
        "CREATE UNIQUE INDEX uq_backup_schedules_service_id_kind_volume"
        " ON backup_schedules (service_id, kind, coalesce(volume, ''))"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("DELETE FROM backup_schedules WHERE kind = 'volume'")
    op.execute("DELETE FROM backup_runs WHERE kind = 'volume'")
    op.drop_index("uq_backup_schedules_service_id_kind_volume", table_name="backup_schedules")
    op.create_unique_constraint(
        op.f("uq_backup_schedules_service_id"), "backup_schedules", ["service_id"]
    )
    op.alter_column("backup_runs", "database_name", existing_type=sa.String(64), nullable=False)
    for table in ("backup_schedules", "backup_runs"):
        op.drop_constraint(op.f(f"ck_{table}_kind"), table, type_="check")
        op.drop_column(table, "volume")
        op.drop_column(table, "kind")
