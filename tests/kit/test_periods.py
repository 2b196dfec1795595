from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skypanel.kit.periods import add_months, period_bounds, unused_fraction


def test_anchored_on_the_31st() -> None:
    anchor = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    ends = [add_months(anchor, n).date().isoformat() for n in range(1, 14)]
    assert ends == [
        "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31",
        "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31", "2028-01-31",
        "2028-02-29",
    ]  # fmt: skip
    assert add_months(anchor, 1).time() == anchor.time()


def test_period_bounds_are_contiguous() -> None:
    anchor = datetime(2028, 2, 29, tzinfo=UTC)
    assert period_bounds(anchor, 0) == (anchor, datetime(2028, 3, 29, tzinfo=UTC))
    assert period_bounds(anchor, 12)[0] == datetime(2029, 2, 28, tzinfo=UTC)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=datetime(2090, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.integers(min_value=0, max_value=240),
)
def test_periods_never_overlap_or_leave_gaps(start: datetime, n: int) -> None:
    anchor = start
    _, end = period_bounds(anchor, n)
    following, _ = period_bounds(anchor, n + 1)
    assert end == following
    assert end > period_bounds(anchor, n)[0]


@pytest.mark.parametrize(
    ("offset", "fraction"),
    [(timedelta(0), Fraction(1)), (timedelta(days=15), Fraction(1, 2)), (timedelta(days=40), 0)],
)
def test_unused_fraction(offset: timedelta, fraction: Fraction) -> None:
    start = datetime(2027, 4, 1, tzinfo=UTC)
    end = datetime(2027, 5, 1, tzinfo=UTC)
    assert unused_fraction(start, end, start + offset) == fraction
    assert unused_fraction(start, end, start - timedelta(days=1)) == 1
