"""Moves of an organization from one Easypanel server to another (an admin's draining tool)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey

MOVE_STATES = ("pending", "running", "done", "failed")


class OrganizationMove(UUIDPrimaryKey, Timestamps, Base):
    """One move: its steps are persisted operations of the subject `("move", id)`."""

    __tablename__ = "organization_moves"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in MOVE_STATES) + ")", name="state"
        ),
        CheckConstraint("steps_done BETWEEN 0 AND steps_total", name="steps_done"),
        Index(
            "uq_organization_moves_one_unfinished",
            "organization_id",
            unique=True,
            postgresql_where=text("state IN ('pending', 'running')"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    source_server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    target_server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    steps_total: Mapped[int] = mapped_column(Integer)
    steps_done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
