"""Deployments: one record per deploy of a service.

`service_deployments` records each deploy of an app (trigger, actor, image or commit, the
Easypanel action, status, times, final log); `service_deploy_hooks` the hashed token of each
service's git push URL. New tables only: nothing existing is locked for long.

Revision ID: b1c2d3e4f5a6
Revises: 9cadbecfd0e8
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1c2d3e4f5a6"
down_revision: str | None = "9cadbecfd0e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = "'create', 'env', 'image', 'redeploy', 'rollback', 'git_push', 'resources'"
UNFINISHED = "status IN ('pending', 'running')"


def _stamp(name: str, *, nullable: bool = True) -> sa.Column[object]:
    default = None if nullable else sa.text("now()")
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "service_deployments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("image", sa.String(length=500), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("easypanel_action_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _stamp("created_at", nullable=False),
        _stamp("started_at"),
        _stamp("finished_at"),
        _stamp("checked_at"),
        sa.Column("log", sa.Text(), nullable=True),
        sa.CheckConstraint(f"trigger IN ({TRIGGERS})", name=op.f("ck_service_deployments_trigger")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_service_deployments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["container_services.id"],
            name=op.f("fk_service_deployments_service_id_container_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_service_deployments_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_service_deployments_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["easypanel_operations.id"],
            name=op.f("fk_service_deployments_operation_id_easypanel_operations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_deployments")),
        sa.UniqueConstraint(
            "service_id",
            "easypanel_action_id",
            name=op.f("uq_service_deployments_service_id_easypanel_action_id"),
        ),
    )
    op.create_index(
        op.f("ix_service_deployments_service_id"),
        "service_deployments",
        ["service_id", "created_at"],
    )
    op.create_index(
        op.f("ix_service_deployments_organization_id"),
        "service_deployments",
        ["organization_id"],
    )
    op.create_index(
        op.f("ix_service_deployments_checked_at"),
        "service_deployments",
        ["checked_at"],
        postgresql_where=sa.text(UNFINISHED),
    )
    op.create_table(
        "service_deploy_hooks",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _stamp("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["container_services.id"],
            name=op.f("fk_service_deploy_hooks_service_id_container_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_service_deploy_hooks_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_service_deploy_hooks")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_deploy_hooks_token_hash")),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("service_deploy_hooks")
    op.drop_table("service_deployments")
