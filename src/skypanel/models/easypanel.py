from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey

SERVER_STATES = ("active", "draining", "down", "retired")


class EasypanelServer(UUIDPrimaryKey, Timestamps, Base):
    """A connected Easypanel server (the seed's `easypanel_config`); the API key is encrypted.

    Several servers form the fleet; each new subscription is placed on one of them
    (`servers.placement`), and every resource created on a server records which one. The default
    server is the one the single-server config routes act on.

    `state`: `active` takes new subscriptions; `draining` keeps its customers and takes no new
    ones; `down` (set by the health check) takes none until it answers again; `retired` is gone
    from placement and monitoring. `active` stays the "still in service" flag other code reads:
    true for every state but `retired` (a CHECK keeps the two in step).
    """

    __tablename__ = "easypanel_config"
    __table_args__ = (
        CheckConstraint("dialect IN ('auto', 'orpc', 'trpc')", name="dialect"),
        CheckConstraint(f"state IN {SERVER_STATES}", name="state"),
        CheckConstraint("active = (state <> 'retired')", name="active_matches_state"),
        CheckConstraint("capacity_source IN ('manual', 'reported')", name="capacity_source"),
        CheckConstraint("overcommit_ratio > 0", name="overcommit_positive"),
        CheckConstraint(
            "capacity_source = 'reported' OR (capacity_cpus IS NOT NULL"
            " AND capacity_memory_gb IS NOT NULL AND capacity_storage_gb IS NOT NULL)",
            name="manual_capacity_set",
        ),
        Index(
            "uq_easypanel_config_one_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        Index("uq_easypanel_config_name", "name", unique=True),
    )

    name: Mapped[str] = mapped_column(String(100), server_default="default")
    api_url: Mapped[str] = mapped_column(String(500))
    api_key_encrypted: Mapped[str] = mapped_column(info=ENCRYPTED)
    api_key_last4: Mapped[str] = mapped_column(String(4))
    dialect: Mapped[str] = mapped_column(String(8), server_default="auto")
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    is_default: Mapped[bool] = mapped_column(server_default=text("true"))
    last_connection_test: Mapped[datetime | None]
    connection_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    detected_dialect: Mapped[str | None] = mapped_column(String(8))
    server_version: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[int | None]
    region: Mapped[str] = mapped_column(String(64), server_default="default")
    state: Mapped[str] = mapped_column(String(16), server_default="active")
    capacity_cpus: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    capacity_memory_gb: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    capacity_storage_gb: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    capacity_source: Mapped[str] = mapped_column(String(8), server_default="reported")
    overcommit_ratio: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="1.0")
    consecutive_failures: Mapped[int] = mapped_column(server_default="0")
    last_seen_at: Mapped[datetime | None]
    used_cpu_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    used_memory_gb: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    used_storage_gb: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
