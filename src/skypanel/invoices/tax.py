"""Which tax a document charges and how much, as pure functions (no database, no settings).

The place of supply decides the rate: a business buyer in another EU country than the seller's,
with a valid VAT number, accounts for the VAT itself (reverse charge, 0 %); a consumer in the EU
pays their own country's rate (or the seller's, while no rate is set for theirs); a buyer
outside the EU pays the rate an administrator set for their country, or none. Amounts are cents;
tax is rounded half-up on each line with `skypanel.kit.money.round_half_up`, the one rounding
rule, and the document's totals are the sums of its lines, so they always add up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

from skypanel.kit.money import round_half_up

EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()  # noqa: SIM905
)
"""The EU member states by ISO 3166 alpha-2 code."""

_VAT_PREFIX = {"GR": "EL"}
"""Where an EU VAT number's prefix differs from the ISO country code."""

_TAX_ID = re.compile(r"^[A-Z0-9]{2,20}$")
_SEPARATORS = re.compile(r"[\s.\-/]")

REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)"
)
OUTSIDE_EU = "VAT not applicable: services supplied to a customer outside the EU"
PREPAID = "Prepaid credit: no tax is charged on it; tax is invoiced on the services it pays for"

BPS = 10_000
"""Rates are basis points: 1900 is 19.00 %."""


@dataclass(frozen=True, slots=True)
class Rate:
    rate_bps: int
    name: str


@dataclass(frozen=True, slots=True)
class Buyer:
    """What the tax decision needs from a billing profile (the VAT number already validated)."""

    country: str
    vat_number: str | None
    is_business: bool


@dataclass(frozen=True, slots=True)
class TaxDecision:
    rate_bps: int
    name: str | None
    mention: str | None
    reverse_charge: bool = False


UNTAXED = TaxDecision(rate_bps=0, name=None, mention=PREPAID)
"""Receipts for prepaid credit: the tax comes on the invoices of what the credit pays for."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line as a caller bills it: `unit_cents` is net or gross as the platform's
    `prices_include_tax` setting says. Negative units are discounts."""

    description: str
    quantity: int
    unit_cents: int

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"a line needs a quantity of at least 1, not {self.quantity}")
        if not self.description.strip():
            raise ValueError("a line needs a description")


@dataclass(frozen=True, slots=True)
class PricedLine:
    description: str
    quantity: int
    unit_cents: int
    net_cents: int
    tax_cents: int
    total_cents: int


def decide(seller_country: str, buyer: Buyer | None, rates: Mapping[str, Rate]) -> TaxDecision:
    """The tax of a charge to `buyer` (None: no billing profile yet, taxed as a consumer in the
    seller's country)."""
    if buyer is None:
        return _rated(rates.get(seller_country))
    cross_border_eu = (
        seller_country in EU and buyer.country in EU and buyer.country != seller_country
    )
    if cross_border_eu and buyer.is_business and buyer.vat_number:
        return TaxDecision(rate_bps=0, name="VAT", mention=REVERSE_CHARGE, reverse_charge=True)
    if cross_border_eu:
        return _rated(rates.get(buyer.country) or rates.get(seller_country))
    rate = rates.get(buyer.country)
    if rate is None and seller_country in EU and buyer.country not in EU:
        return TaxDecision(rate_bps=0, name=None, mention=OUTSIDE_EU)
    return _rated(rate)


def _rated(rate: Rate | None) -> TaxDecision:
    if rate is None:
        return TaxDecision(rate_bps=0, name=None, mention=None)
    return TaxDecision(rate_bps=rate.rate_bps, name=rate.name, mention=None)


def price(line: Line, decision: TaxDecision, *, gross: bool) -> PricedLine:
    """The line's net, tax and total, the tax rounded half-up. Gross prices have the tax taken
    out of them, so the buyer pays the listed price whatever the rate (0 % included)."""
    net, tax = _split(line.quantity * line.unit_cents, decision.rate_bps, gross)
    return PricedLine(
        description=line.description,
        quantity=line.quantity,
        unit_cents=line.unit_cents,
        net_cents=net,
        tax_cents=tax,
        total_cents=net + tax,
    )


@lru_cache(maxsize=1024)
def _split(amount: int, rate_bps: int, gross: bool) -> tuple[int, int]:
    """(net, tax) of an amount, remembered: a billing run prices thousands of lines of the same
    few amounts, and the exact rounding is most of what pricing a line costs."""
    if gross:
        tax = round_half_up(Fraction(amount * rate_bps, BPS + rate_bps))
        return amount - tax, tax
    return amount, round_half_up(Fraction(amount * rate_bps, BPS))


def price_all(lines: Sequence[Line], decision: TaxDecision, *, gross: bool) -> list[PricedLine]:
    return [price(line, decision, gross=gross) for line in lines]


def format_rate(rate_bps: int) -> str:
    """1900 -> `"19.00"` (percent)."""
    return f"{rate_bps // 100}.{rate_bps % 100:02d}"


def normalise_vat_number(country: str, number: str) -> str:
    """The VAT number in its compact form (`DE136695976`), checked against `country`'s format
    and check digits. Raises ValueError with a message for the buyer."""
    compact = _SEPARATORS.sub("", number).upper()
    if country in EU:
        prefix = _VAT_PREFIX.get(country, country)
        if not compact.startswith(prefix):
            if compact[:2].isalpha():
                raise ValueError(f"must be a VAT number of {country} (starting with {prefix})")
            compact = prefix + compact
        if not eu_vat.is_valid(compact):
            raise ValueError(f"is not a valid VAT number of {country}")
        return str(eu_vat.compact(compact))
    module = get_cc_module(country.lower(), "vat")
    if module is not None:
        try:
            return str(module.validate(compact))
        except ValidationError as exc:
            raise ValueError(f"is not a valid tax number of {country}") from exc
    if not _TAX_ID.fullmatch(compact):
        raise ValueError("must be 2 to 20 letters and digits")
    return compact
