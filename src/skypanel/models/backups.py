"""Backups: the S3 storage the admin configures, its registration on each Easypanel server, the
schedule of each database service and of each volume of an app (`kind` database | volume) and
every backup run with its file in the bucket."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey


class BackupStorage(UUIDPrimaryKey, Timestamps, Base):
    """The S3-compatible bucket every backup goes to (one per panel); the secret is encrypted."""

    __tablename__ = "backup_storage"
    __table_args__ = (CheckConstraint("name = 'default'", name="one"),)

    name: Mapped[str] = mapped_column(String(16), unique=True, server_default="default")
    endpoint: Mapped[str | None] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(63))
    access_key_id: Mapped[str] = mapped_column(String(256))
    secret_encrypted: Mapped[str] = mapped_column(info=ENCRYPTED)
    secret_last4: Mapped[str] = mapped_column(String(4))


class BackupStorageServer(UUIDPrimaryKey, Timestamps, Base):
    """The storage as registered on one Easypanel server: the provider id Easypanel gave it."""

    __tablename__ = "backup_storage_servers"

    server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="CASCADE"), unique=True
    )
    provider_id: Mapped[str] = mapped_column(String(64))


KIND_CHECK = "kind IN ('database', 'volume') AND (kind = 'volume') = (volume IS NOT NULL)"


class BackupSchedule(UUIDPrimaryKey, Timestamps, Base):
    """When a database service, or one volume of an app, is backed up and how many backups are
    kept."""

    __tablename__ = "backup_schedules"
    __table_args__ = (
        CheckConstraint("retention >= 1", name="retention"),
        CheckConstraint(KIND_CHECK, name="kind"),
        # One per database and per volume (`coalesce`: PostgreSQL 13 has no NULLS NOT DISTINCT).
        Index(
            "uq_backup_schedules_service_id_kind_volume",
            "service_id",
            "kind",
            text("coalesce(volume, '')"),
            unique=True,
        ),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="database")
    volume: Mapped[str | None] = mapped_column(String(64))
    schedule: Mapped[str] = mapped_column(String(100))
    retention: Mapped[int]
    enabled: Mapped[bool]
    easypanel_backup_id: Mapped[str | None] = mapped_column(String(64))


class BackupRun(UUIDPrimaryKey, Base):
    """One backup: `done` only once its file is in the bucket with a size, `failed` when
    Easypanel reported an error or the file is gone."""

    __tablename__ = "backup_runs"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
        CheckConstraint(KIND_CHECK, name="kind"),
        UniqueConstraint("server_id", "easypanel_action_id"),
        Index(None, "service_id", "requested_at"),
    )

    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("container_services.id", ondelete="SET NULL")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="SET NULL")
    )
    provider_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="database")
    volume: Mapped[str | None] = mapped_column(String(64))
    database_name: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(1024))
    easypanel_action_id: Mapped[str | None] = mapped_column(String(64))
    operation_id: Mapped[uuid.UUID | None]
    scheduled: Mapped[bool] = mapped_column(default=False)
    requested_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    size: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(1000))
    deleted_at: Mapped[datetime | None]
    """When retention deleted the file; the row stays so the run is not recorded again."""
