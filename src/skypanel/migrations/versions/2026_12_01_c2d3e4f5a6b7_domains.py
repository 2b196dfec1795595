"""Domains: custom hosts with DNS verification, certificates, published ports.

Revision ID: c2d3e4f5a6b7
Revises: b1c2d3e4f5a6
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2d3e4f5a6b7"
down_revision: str | None = "b1c2d3e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_STATUSES = "('pending_verification', 'verified', 'attached', 'failed', 'removing')"
_DOMAIN_COLUMNS = (
    ("status", sa.String(24), "attached"),
    ("token", sa.String(64), None),
    ("path", sa.String(255), "/"),
    ("port", sa.Integer(), "80"),
    ("https", sa.Boolean(), "true"),
    ("is_primary", sa.Boolean(), "false"),
    ("easypanel_domain_id", sa.String(64), None),
    ("checked_at", sa.DateTime(timezone=True), None),
    ("verified_at", sa.DateTime(timezone=True), None),
    ("last_error", sa.Text(), None),
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for name, kind, default in _DOMAIN_COLUMNS:
        op.add_column(
            "service_domains",
            sa.Column(name, kind, nullable=default is None, server_default=default),
        )
    op.add_column(
        "service_domains",
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_check_constraint(
        op.f("ck_service_domains_status"), "service_domains", f"status IN {_STATUSES}"
    )
    op.create_check_constraint(
        op.f("ck_service_domains_port"), "service_domains", "port BETWEEN 1 AND 65535"
    )
    op.create_index(
        "ix_service_domains_pending",
        "service_domains",
        ["checked_at"],
        postgresql_where=sa.text("status = 'pending_verification'"),
    )
    op.add_column(
        "service_ports",
        sa.Column("purpose", sa.String(8), nullable=False, server_default="publish"),
    )
    op.add_column("service_ports", sa.Column("target", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_service_ports_purpose"), "service_ports", "purpose IN ('publish', 'expose')"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint(op.f("ck_service_ports_purpose"), "service_ports", type_="check")
    op.drop_column("service_ports", "target")
    op.drop_column("service_ports", "purpose")
    op.drop_index("ix_service_domains_pending", table_name="service_domains")
    op.drop_constraint(op.f("ck_service_domains_port"), "service_domains", type_="check")
    op.drop_constraint(op.f("ck_service_domains_status"), "service_domains", type_="check")
    op.drop_column("service_domains", "created_at")
    for name, _, _ in reversed(_DOMAIN_COLUMNS):
        op.drop_column("service_domains", name)
