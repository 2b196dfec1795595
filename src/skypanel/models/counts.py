"""Counts the admin overview reads, kept by triggers (revision e0f1a2b3c4d5).

Each statement that inserts, updates or deletes a counted row appends its net change to
`platform_count_changes` (insert-only: writers never wait on one another); `fold_counts` moves
the changes into `platform_counts`. The count of a key is the sum over both tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.models.base import Base


class PlatformCount(Base):
    """`metric`: subscriptions (label: plan id), services (label: type), projects, or
    billing_cycles (by UTC hour of creation); `n` rows of that metric have this key."""

    __tablename__ = "platform_counts"

    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class PlatformCountChange(Base):
    """One statement's net change to a count, not yet folded into `platform_counts`."""

    __tablename__ = "platform_count_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    hour: Mapped[datetime]
    n: Mapped[int] = mapped_column(BigInteger)
