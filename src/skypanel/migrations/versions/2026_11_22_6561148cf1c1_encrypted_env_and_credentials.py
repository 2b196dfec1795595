"""Environment variables and credentials of projects and services, encrypted at rest.

Revision ID: 6561148cf1c1
Revises: bffa418bb8b8
Create Date: 2026-11-22 00:08:14.375230
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6561148cf1c1"
down_revision: str | None = "bffa418bb8b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("container_projects", sa.Column("env_encrypted", sa.String(), nullable=True))
    op.add_column("container_services", sa.Column("env_encrypted", sa.String(), nullable=True))
    op.add_column(
        "container_services", sa.Column("credentials_encrypted", sa.String(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("container_services", "credentials_encrypted")
    op.drop_column("container_services", "env_encrypted")
    op.drop_column("container_projects", "env_encrypted")
