"""Names on Easypanel that one service holds for the whole platform: hosts and published ports.

A row is written in the transaction that records its service and goes with it (cascade), so a
claim can never outlive its service nor two services hold the same name: the unique indexes are
the rule, the checks in `skypanel.services.claims` only give the refusal its message.
"""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import Base, UUIDPrimaryKey


class ServiceDomain(UUIDPrimaryKey, Base):
    """A host a service serves, normalised (lowercase ASCII, no trailing dot); `*.example.com`
    for a wildcard. Unique on the whole platform."""

    __tablename__ = "service_domains"
    __table_args__ = (
        UniqueConstraint("host"),
        Index(None, "service_id"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("container_services.id", ondelete="CASCADE")
    )
    host: Mapped[str] = mapped_column(String(255))


class ServicePort(UUIDPrimaryKey, Base):
    """A host port a service publishes on its Easypanel server. Unique per server and protocol."""

    __tablename__ = "service_ports"
    __table_args__ = (
        UniqueConstraint("server_id", "port", "protocol"),
        CheckConstraint("protocol IN ('tcp', 'udp')", name="protocol"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
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
