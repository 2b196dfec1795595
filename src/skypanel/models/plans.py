from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey


class ContainerPlan(UUIDPrimaryKey, Timestamps, Base):
    """A monthly plan: price and quotas. Never deleted once subscribed, only deactivated."""

    __tablename__ = "container_plans"
    __table_args__ = (
        CheckConstraint("price_monthly_cents >= 0", name="price_not_negative"),
        CheckConstraint("max_cpu_cores > 0", name="cpu_positive"),
        CheckConstraint("max_memory_gb > 0", name="memory_positive"),
        CheckConstraint("max_storage_gb > 0", name="storage_positive"),
        CheckConstraint("max_containers > 0", name="containers_positive"),
        Index(None, "active", "price_monthly_cents"),
    )

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    price_monthly_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    max_cpu_cores: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    max_memory_gb: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    max_storage_gb: Mapped[int]
    max_containers: Mapped[int]
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    # The regions whose servers may host the plan's subscriptions; empty: any region.
    regions: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
