"""The words billing puts in ledger entries, invoice lines and messages: the dates are those of
each moment's own calendar. Their formatting is remembered between calls (a billing run words
thousands of renewals), and the same instant seen from two time zones is not the same day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from skypanel.billing import messages
from skypanel.subscriptions import cycles

LATE = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
EAST = timezone(timedelta(hours=2))


def test_a_day_is_named_in_the_time_zone_of_its_moment() -> None:
    assert messages.day(LATE) == "Dec 4, 2026"
    assert messages.day(LATE.astimezone(EAST)) == "Dec 5, 2026"
    assert messages.day(LATE) == "Dec 4, 2026"


def test_a_cycle_is_worded_with_the_dates_of_its_moments() -> None:
    end = datetime(2027, 1, 4, 23, 30, tzinfo=UTC)
    assert cycles.charge_line("Starter", LATE, end, 1000).description == (
        "Starter plan, 2026-12-04 to 2027-01-04"
    )
    assert cycles.charge_line(
        "Starter", LATE.astimezone(EAST), end.astimezone(EAST), 1000
    ).description == ("Starter plan, 2026-12-05 to 2027-01-05")
