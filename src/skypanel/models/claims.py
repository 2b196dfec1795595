"""Names on Easypanel that one service holds for the whole platform: hosts and published ports.

A domain given when the service was created is `attached` at once; a custom domain added later
starts `pending_verification` until its TXT record proves the customer holds it (see
`skypanel.domains`). A port either publishes an app's container port or exposes a database.

A row is written in the transaction that records its service and goes with it (cascade), so a
claim can never outlive its service nor two services hold the same name: the unique indexes are
the rule, the checks in `skypanel.services.claims` only give the refusal its message.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, UUIDPrimaryKey

DOMAIN_STATUSES = ("pending_verification", "verified", "attached", "failed", "removing")
PORT_PURPOSES = ("publish", "expose")


class ServiceDomain(UUIDPrimaryKey, Base):
    """A host a service serves, normalised (lowercase ASCII, no trailing dot); `*.example.com`
    for a wildcard. Unique on the whole platform."""

    __tablename__ = "service_domains"
    __table_args__ = (
        UniqueConstraint("host"),
        Index(None, "service_id"),
        Index(
            "ix_service_domains_pending",
            "checked_at",
            postgresql_where="status = 'pending_verification'",
        ),
        CheckConstraint(f"status IN {DOMAIN_STATUSES}", name="status"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE")
    )
    host: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24), server_default="attached")
    token: Mapped[str | None] = mapped_column(String(64))
    """The TXT value that proves the customer holds the host (public: it is in their DNS)."""
    path: Mapped[str] = mapped_column(String(255), server_default="/")
    port: Mapped[int] = mapped_column(Integer, server_default="80")
    https: Mapped[bool] = mapped_column(Boolean, server_default=true())
    is_primary: Mapped[bool] = mapped_column(Boolean, server_default="false")
    easypanel_domain_id: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class ServicePort(UUIDPrimaryKey, Base):
    """A host port a service publishes on its Easypanel server. Unique per server and protocol."""

    __tablename__ = "service_ports"
    __table_args__ = (
        UniqueConstraint("server_id", "port", "protocol"),
        CheckConstraint("protocol IN ('tcp', 'udp')", name="protocol"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        CheckConstraint(f"purpose IN {PORT_PURPOSES}", name="purpose"),
        Index(None, "service_id"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE")
    )
    server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("easypanel_config.id", ondelete="CASCADE")
    )
    port: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(String(8), server_default="publish")
    target: Mapped[int | None] = mapped_column(Integer)
    """The container port (published ports added after creation; None for creation's own)."""
