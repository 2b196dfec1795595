"""Projects and services (the seed's container_projects and container_services).

Revision ID: 9bb64991d1fb
Revises: ce5b8a41d84e
Create Date: 2026-11-21 23:38:28.668181
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9bb64991d1fb"
down_revision: str | None = "ce5b8a41d84e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "container_projects",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("project_name", sa.String(length=40), nullable=False),
        sa.Column("easypanel_project_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="creating", nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
        sa.CheckConstraint(
            "status IN ('creating', 'active', 'deleting', 'failed', 'missing')",
            name=op.f("ck_container_projects_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_container_projects_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["easypanel_config.id"],
            name=op.f("fk_container_projects_server_id_easypanel_config"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["container_subscriptions.id"],
            name=op.f("fk_container_projects_subscription_id_container_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_projects")),
        sa.UniqueConstraint(
            "organization_id",
            "project_name",
            name=op.f("uq_container_projects_organization_id_project_name"),
        ),
        sa.UniqueConstraint(
            "server_id",
            "easypanel_project_name",
            name=op.f("uq_container_projects_server_id_easypanel_project_name"),
        ),
    )
    op.create_index(
        op.f("ix_container_projects_subscription_id"),
        "container_projects",
        ["subscription_id"],
        unique=False,
    )
    op.create_table(
        "container_services",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("service_name", sa.String(length=40), nullable=False),
        sa.Column("easypanel_service_name", sa.String(length=255), nullable=False),
        sa.Column("service_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="deploying", nullable=False),
        sa.Column("desired_state", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("cpu_limit", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("memory_limit_gb", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("storage_limit_gb", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column(
            "configuration",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "service_type IN ('app', 'postgres', 'mysql', 'mariadb', 'mongo', 'redis', 'wordpress', 'box', 'compose')",
            name=op.f("ck_container_services_service_type"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_container_services_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["container_projects.id"],
            name=op.f("fk_container_services_project_id_container_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_services")),
        sa.UniqueConstraint(
            "project_id", "service_name", name=op.f("uq_container_services_project_id_service_name")
        ),
    )
    op.create_index(
        op.f("ix_container_services_organization_id"),
        "container_services",
        ["organization_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_container_services_status"), "container_services", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_container_services_status"), table_name="container_services")
    op.drop_index(op.f("ix_container_services_organization_id"), table_name="container_services")
    op.drop_table("container_services")
    op.drop_index(op.f("ix_container_projects_subscription_id"), table_name="container_projects")
    op.drop_table("container_projects")
