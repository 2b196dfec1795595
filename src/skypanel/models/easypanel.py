from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import ENCRYPTED, Base, Timestamps, UUIDPrimaryKey


class EasypanelServer(UUIDPrimaryKey, Timestamps, Base):
    """A connected Easypanel server (the seed's `easypanel_config`); the API key is encrypted.

    Several servers can be registered; exactly one is the default that new resources go to, and
    every resource created on a server records which one.
    """

    __tablename__ = "easypanel_config"
    __table_args__ = (
        CheckConstraint("dialect IN ('auto', 'orpc', 'trpc')", name="dialect"),
        Index(
            "uq_easypanel_config_one_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
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
