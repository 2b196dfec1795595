"""The one source of "now", so billing periods and token expiry can be tested over many months."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


def set_source(source: Callable[[], datetime]) -> Callable[[], datetime]:
    """Replace the clock (tests, `skypanel billing run --now`); returns the previous source."""
    global _source
    previous, _source = _source, source
    return previous
