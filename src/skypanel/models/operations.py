from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey

IN_FLIGHT = ("pending", "running")
FINISHED = ("succeeded", "failed", "cancelled")


class EasypanelOperation(UUIDPrimaryKey, Timestamps, Base):
    """One change to make on Easypanel, delivered by workers with retries.

    pending -> running -> succeeded | failed | cancelled, always ending. An identical operation
    already in flight (same `dedupe_key`) is reused instead of duplicated. The operations of one
    subject are delivered one at a time in `seq` order, each after the ones it `depends_on`.
    """

    __tablename__ = "easypanel_operations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
        Index(
            "uq_easypanel_operations_in_flight",
            "dedupe_key",
            unique=True,
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        Index(
            "ix_easypanel_operations_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(None, "organization_id", "created_at"),
        Index(None, "subject_type", "subject_id"),
        Index(
            "ix_easypanel_operations_subject_in_flight",
            "subject_id",
            "seq",
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        Index(
            "ix_easypanel_operations_running",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_easypanel_operations_status_created", "status", "created_at"),
    )

    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(300))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("8"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False))
    depends_on: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default=text("'{}'::uuid[]")
    )
    lease_expires_at: Mapped[datetime | None]


class EasypanelAuditLog(UUIDPrimaryKey, Base):
    """Every call made to Easypanel, with secrets redacted (the guide's `easypanel_audit_log`)."""

    __tablename__ = "easypanel_audit_log"
    __table_args__ = (
        Index(None, "organization_id", "created_at"),
        Index(None, "operation", "created_at"),
        Index(None, "server_id", "created_at"),
        Index(None, "request_id"),
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="SET NULL")
    )
    operation_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    operation: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(50))
    resource_name: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_data: Mapped[Any | None] = mapped_column(JSONB)
    response_data: Mapped[Any | None] = mapped_column(JSONB)
    response_status: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    elapsed_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
