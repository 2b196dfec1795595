"""Deployments of app services, and the deploy hooks that start them on a git push.

A deployment records one deploy: what started it (`trigger`), who (a user, or none for a push),
what it deployed (an image, or a git commit once known), the Easypanel action that carried it
out, how it went and its final log. The unique (service, action) pair makes importing the
actions Easypanel ran on its own idempotent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, UUIDPrimaryKey

TRIGGERS = ("create", "env", "image", "redeploy", "rollback", "git_push", "resources")
STATUSES = ("pending", "running", "done", "failed")
UNFINISHED = ("pending", "running")


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ServiceDeployment(UUIDPrimaryKey, Base):
    __tablename__ = "service_deployments"
    __table_args__ = (
        CheckConstraint(_among("trigger", TRIGGERS), name="trigger"),
        CheckConstraint(_among("status", STATUSES), name="status"),
        UniqueConstraint("service_id", "easypanel_action_id"),
        Index(None, "service_id", "created_at"),
        Index(None, "checked_at", postgresql_where=text(_among("status", UNFINISHED))),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    image: Mapped[str | None] = mapped_column(String(500))
    commit: Mapped[str | None] = mapped_column(String(64))
    operation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_operations.id", ondelete="SET NULL")
    )
    easypanel_action_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    """When the sync last looked at its action (the claim that spreads work over workers)."""
    log: Mapped[str | None] = mapped_column(Text)
    """The final build and deploy log, trimmed to its last `LOG_LIMIT` characters."""


class DeployHook(Base):
    """A service's git push URL: only the SHA-256 of its token is kept."""

    __tablename__ = "service_deploy_hooks"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
