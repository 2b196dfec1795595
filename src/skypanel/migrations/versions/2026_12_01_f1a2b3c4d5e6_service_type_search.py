"""The admin services list searched within a type: its own prefix index.

A search combined with a type filter walked the whole name range of the search index and
dropped the rows of other types: 110 ms at 1,000,000 services when no service of that type
matched (bench/RESULTS.md). Like the status filter, the type now leads an index on
(service_type, lower(service_name) COLLATE "C", id), so every page is one index range.

Revision ID: f1a2b3c4d5e6
Revises: e0f1a2b3c4d5
Create Date: 2026-12-01 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "f1a2b3c4d5e6"
down_revision: str | None = "e0f1a2b3c4d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        "CREATE INDEX ix_container_services_type_name_match ON container_services"
        ' (service_type, (lower(service_name) COLLATE "C"), id)'
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("DROP INDEX ix_container_services_type_name_match")
