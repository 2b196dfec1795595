"""Types for query parameters that pydantic's lax parsing would read too generously."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("must be a date or date and time such as 2026-12-01T09:30:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc3339)]
"""A date and time written as RFC 3339 text; not a bare number, which pydantic would read as
seconds since 1970."""
