from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey

SERVICE_TYPES = (
    "app",
    "postgres",
    "mysql",
    "mariadb",
    "mongo",
    "redis",
    "wordpress",
    "box",
    "compose",
)


class ContainerProject(UUIDPrimaryKey, Timestamps, Base):
    """A customer's project; on Easypanel it is named with the organization's namespace."""

    __tablename__ = "container_projects"
    __table_args__ = (
        UniqueConstraint("organization_id", "project_name"),
        UniqueConstraint("server_id", "easypanel_project_name"),
        CheckConstraint(
            "status IN ('creating', 'active', 'deleting', 'failed', 'missing')", name="status"
        ),
        Index(None, "subscription_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_subscriptions.id", ondelete="CASCADE")
    )
    server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    project_name: Mapped[str] = mapped_column(String(40))
    easypanel_project_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), server_default="creating")
    last_error: Mapped[str | None] = mapped_column(String(1000))
    env_encrypted: Mapped[str | None] = mapped_column(info=ENCRYPTED)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")


class ContainerService(UUIDPrimaryKey, Timestamps, Base):
    """An app or database inside a project, with the limits it counts against the quota."""

    __tablename__ = "container_services"
    __table_args__ = (
        UniqueConstraint("project_id", "service_name"),
        UniqueConstraint("server_id", "swarm_name"),
        CheckConstraint(
            "service_type IN (" + ", ".join(f"'{t}'" for t in SERVICE_TYPES) + ")",
            name="service_type",
        ),
        Index(None, "organization_id", "status"),
        Index(None, "status"),
        Index("ix_container_services_newest", "created_at", "id"),
        Index("ix_container_services_status_newest", "status", "created_at", "id"),
        Index("ix_container_services_type_newest", "service_type", "created_at", "id"),
        Index("ix_container_services_organization_newest", "organization_id", "created_at", "id"),
        Index("ix_container_services_server_newest", "server_id", "created_at", "id"),
        Index(
            "ix_container_services_name_match",
            text('lower(service_name) COLLATE "C"'),
            "id",
        ),
        Index(
            "ix_container_services_status_name_match",
            "status",
            text('lower(service_name) COLLATE "C"'),
            "id",
        ),
        Index(
            "ix_container_services_type_name_match",
            "service_type",
            text('lower(service_name) COLLATE "C"'),
            "id",
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_projects.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    service_name: Mapped[str] = mapped_column(String(40))
    easypanel_service_name: Mapped[str] = mapped_column(String(255))
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    swarm_name: Mapped[str | None] = mapped_column(String(255))
    """`<easypanel project>_<easypanel service>`, unique per server (`subscriptions.naming`);
    empty only for services imported from Easypanel."""
    service_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), server_default="deploying")
    desired_state: Mapped[str] = mapped_column(String(16), server_default="running")
    cpu_limit: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    memory_limit_gb: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    storage_limit_gb: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    configuration: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    env_encrypted: Mapped[str | None] = mapped_column(info=ENCRYPTED)
    credentials_encrypted: Mapped[str | None] = mapped_column(info=ENCRYPTED)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When Easypanel accepted the newest create, deploy, start or restart: the status shows
    "starting" until its tasks have stayed up for a while after it."""
    crash_looping_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Since when the health watch has seen the service's tasks keep failing (None: healthy)."""
