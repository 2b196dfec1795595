"""Monthly billing periods anchored on the subscription's start (Jan 31 -> Feb 28/29 -> Mar 31)."""

from __future__ import annotations

import calendar
from datetime import datetime
from fractions import Fraction


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor moved by whole months, its day clamped to the target month's length."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_bounds(anchor: datetime, n: int) -> tuple[datetime, datetime]:
    """The n-th period (0 = the first) of a subscription anchored at `anchor`."""
    return add_months(anchor, n), add_months(anchor, n + 1)


def unused_fraction(start: datetime, end: datetime, at: datetime) -> Fraction:
    """The part of [start, end) still ahead at `at`, by the second, between 0 and 1."""
    total = int((end - start).total_seconds())
    left = int((end - max(min(at, end), start)).total_seconds())
    return Fraction(left, total) if total > 0 else Fraction(0)
