from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skypanel.kit.money import MAX_CENTS, format_money, parse_money, round_half_up


@pytest.mark.parametrize(
    ("text", "cents"),
    [("19.99", 1999), ("0.5", 50), ("20", 2000), ("-0.05", -5), (" 7.10 ", 710), ("0", 0)],
)
def test_parse(text: str, cents: int) -> None:
    assert parse_money(text) == cents


@pytest.mark.parametrize("text", ["1.999", "1e3", "", "abc", "1,00", "+-1", "1.", ".5", "NaN"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="decimal amount"):
        parse_money(text)


@pytest.mark.parametrize(
    ("cents", "text"), [(1999, "19.99"), (5, "0.05"), (-5, "-0.05"), (0, "0.00")]
)
def test_format(cents: int, text: str) -> None:
    assert format_money(cents) == text


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_format_then_parse_is_identity(cents: int) -> None:
    assert parse_money(format_money(cents)) == cents


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(149, 100), 1),
        (Fraction(2999, 2), 1500),
        (Decimal("2.5"), 3),
        (Fraction(1, 3), 0),
    ],
)
def test_round_half_up(exact: Fraction | Decimal, rounded: int) -> None:
    assert round_half_up(exact) == rounded
