"""What the stand-in's state is made of: PayPal's error shape, ids and timestamps, money in
minor units and its parsing, and the records kept for orders, purchase units, captures and
refunds, with the small helpers that read a request body into them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

Json = dict[str, Any]
_T = TypeVar("_T")

_CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS"}
    | {"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"}
)
"""The currencies PayPal's REST API takes."""
_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
"""Currencies PayPal takes in whole units only."""
_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$", re.ASCII)
"""PayPal's documented pattern for `amount.value`."""
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_MESSAGES = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication"
        " credentials.",
    ),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business"
        " validation.",
    ),
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _paypal_id(length: int = 17) -> str:
    """Ids shaped like PayPal's (upper-case letters and digits), so clients' length and pattern
    checks meet what they will meet in production."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class PayPalError(Exception):
    """An error answered in PayPal's shape: `{name, message, debug_id, details: [{issue, ...}]}`."""

    def __init__(self, status: int, issue: str, description: str, field: str | None = None):
        super().__init__(f"{issue}: {description}")
        self.status = status
        self.detail: Json = {"issue": issue, "description": description}
        if field is not None:
            self.detail |= {"field": field, "location": "body"}

    def body(self) -> Json:
        name, message = _MESSAGES[self.status]
        return {
            "name": name,
            "message": message,
            "debug_id": secrets.token_hex(7)[:13],
            "details": [self.detail],
        }


def _invalid(issue: str, description: str, field: str | None = None) -> NoReturn:
    raise PayPalError(400, issue, description, field)


def _refused(issue: str, description: str, field: str | None = None) -> NoReturn:
    raise PayPalError(422, issue, description, field)


@dataclass(frozen=True, slots=True)
class _Money:
    """An amount in the currency's minor units, so sums and comparisons are exact."""

    currency: str
    minor: int

    @property
    def decimals(self) -> int:
        return 0 if self.currency in _NO_DECIMALS else 2

    def json(self) -> Json:
        if self.decimals == 0:
            return {"currency_code": self.currency, "value": str(self.minor)}
        whole, part = divmod(self.minor, 100)
        return {"currency_code": self.currency, "value": f"{whole}.{part:02d}"}


def _parse_money(raw: Any, field: str) -> _Money:
    """Check an `amount` object as PayPal does: syntax is a 400, business rules a 422."""
    if not isinstance(raw, dict):
        _invalid("MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    currency, value = raw.get("currency_code"), raw.get("value")
    if not isinstance(currency, str) or not isinstance(value, str):
        _invalid("MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    if len(value) > 32 or not _VALUE.fullmatch(value):
        _invalid(
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
            f"{field}/value",
        )
    if currency not in _CURRENCIES:
        _refused(
            "CURRENCY_NOT_SUPPORTED", "Currency code is not supported.", f"{field}/currency_code"
        )
    places = len(value.partition(".")[2])
    if currency in _NO_DECIMALS and places:
        _refused("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.", f"{field}/value")
    if places > 2:
        _refused(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            f"{field}/value",
        )
    amount = _Money(currency, int(Decimal(value).scaleb(0 if currency in _NO_DECIMALS else 2)))
    if amount.minor <= 0:
        _refused("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", f"{field}/value")
    return amount


@dataclass
class _Unit:
    reference_id: str
    amount: _Money
    custom_id: str | None
    invoice_id: str | None
    description: str | None
    capture_ids: list[str] = field(default_factory=list)


@dataclass
class _Order:
    id: str
    status: str
    units: list[_Unit]
    return_url: str | None
    cancel_url: str | None
    payer_action: bool
    """Created with `payment_source`: PayPal answers PAYER_ACTION_REQUIRED, link payer-action."""
    create_time: str
    update_time: str
    payer: Json | None = None


@dataclass
class _Refund:
    id: str
    capture_id: str
    amount: _Money
    create_time: str


@dataclass
class _Capture:
    id: str
    order_id: str
    status: str
    amount: _Money
    custom_id: str | None
    invoice_id: str | None
    create_time: str
    update_time: str
    refunds: list[_Refund] = field(default_factory=list)

    @property
    def refundable(self) -> int:
        return self.amount.minor - sum(refund.amount.minor for refund in self.refunds)


def _find(table: dict[str, _T], key: str) -> _T:
    if key not in table:
        raise PayPalError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
    return table[key]


def _unit(raw: Any, field: str) -> _Unit:
    if not isinstance(raw, dict):
        _invalid("INVALID_PARAMETER_SYNTAX", "A purchase unit must be an object.", field)
    return _Unit(
        reference_id=_text(raw.get("reference_id")) or "default",
        amount=_parse_money(raw.get("amount"), f"{field}/amount"),
        custom_id=_text(raw.get("custom_id")),
        invoice_id=_text(raw.get("invoice_id")),
        description=_text(raw.get("description")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dig(body: Json, *path: str) -> Json | None:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None
