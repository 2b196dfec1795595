from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey


class ContainerTemplate(UUIDPrimaryKey, Timestamps, Base):
    """A one-click app: its input schema and the Easypanel services it creates."""

    __tablename__ = "container_templates"
    __table_args__ = (Index(None, "enabled", "display_order"),)

    template_name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    template_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    display_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    builtin: Mapped[bool] = mapped_column(server_default=text("false"))
