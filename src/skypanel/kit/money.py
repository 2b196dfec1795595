"""Money is integer cents; decimal strings only at the API edge; one rounding rule (half-up)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_MONEY = re.compile(r"^-?[0-9]{1,7}(\.[0-9]{1,2})?$", re.ASCII)
CURRENCY = "USD"
MAX_CENTS = 100_000_000
"""The largest amount the API takes, 1,000,000.00 (either sign)."""


def parse_money(value: str) -> int:
    """`"19.99"` -> 1999. ASCII digits only, at most two decimal places, at most 1,000,000.00
    either way; refuses exponents and blanks."""
    text = value.strip()
    if not _MONEY.fullmatch(text):
        raise ValueError(
            'must be a decimal amount in ASCII digits with at most two decimal places, like "19.99"'
        )
    cents = int(Decimal(text) * 100)
    if abs(cents) > MAX_CENTS:
        raise ValueError("must be at most 1000000.00")
    return cents


def format_money(cents: int) -> str:
    """1999 -> `"19.99"`; -5 -> `"-0.05"`."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def round_half_up(amount: Fraction | Decimal) -> int:
    """Round an exact amount of cents to whole cents, halves away from zero."""
    exact = (
        Decimal(amount.numerator) / Decimal(amount.denominator)
        if isinstance(amount, Fraction)
        else amount
    )
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money_input(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('must be a decimal string like "19.99"')
    return parse_money(str(value))


_MONEY_SCHEMA = WithJsonSchema({"type": "string", "pattern": _MONEY.pattern, "examples": ["19.99"]})

MoneyIn = Annotated[int, BeforeValidator(_money_input), _MONEY_SCHEMA]
"""A money input: a decimal string on the wire (at most two places), integer cents in Python."""

Money = Annotated[int, PlainSerializer(format_money, return_type=str), _MONEY_SCHEMA]
"""A money output: integer cents in Python, a decimal string with two places on the wire."""
