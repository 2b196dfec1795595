from __future__ import annotations

import pytest

from skypanel.invoices import tax
from skypanel.invoices.tax import Buyer, Line, Rate

RATES = {"DE": Rate(1900, "VAT"), "FR": Rate(2000, "TVA")}


def _priced(
    decision: tax.TaxDecision, unit: int, *, gross: bool, quantity: int = 1
) -> tuple[int, int, int]:
    line = tax.price(Line("Plan S", quantity, unit), decision, gross=gross)
    return line.net_cents, line.tax_cents, line.total_cents


def test_domestic_net_and_gross() -> None:
    decision = tax.decide("DE", Buyer("DE", None, is_business=False), RATES)
    assert decision == tax.TaxDecision(1900, "VAT", None)
    assert _priced(decision, 1000, gross=False) == (1000, 190, 1190)
    assert _priced(decision, 1190, gross=True) == (1000, 190, 1190)
    assert _priced(decision, 999, gross=True, quantity=3) == (2518, 479, 2997)


def test_half_a_cent_rounds_up_on_each_line() -> None:
    decision = tax.decide("DE", None, RATES)
    assert _priced(decision, 250, gross=False) == (250, 48, 298)  # 47.5 -> 48
    assert _priced(decision, 50, gross=False) == (50, 10, 60)  # 9.5 -> 10
    assert _priced(decision, 49, gross=False) == (49, 9, 58)  # 9.31 -> 9


def test_eu_business_with_vat_number_is_reverse_charged() -> None:
    decision = tax.decide("DE", Buyer("FR", "FR40303265045", is_business=True), RATES)
    assert decision.reverse_charge
    assert decision.rate_bps == 0
    assert decision.mention == (
        "Reverse charge: VAT to be accounted for by the recipient"
        " (Article 196, Directive 2006/112/EC)"
    )
    assert _priced(decision, 1000, gross=False) == (1000, 0, 1000)


def test_eu_consumer_pays_their_country_rate_or_the_sellers() -> None:
    assert tax.decide("DE", Buyer("FR", None, is_business=True), RATES).rate_bps == 2000
    assert tax.decide("DE", Buyer("IT", None, is_business=False), RATES).rate_bps == 1900
    domestic_business = tax.decide("DE", Buyer("DE", "DE136695976", is_business=True), RATES)
    assert (domestic_business.rate_bps, domestic_business.reverse_charge) == (1900, False)


def test_buyer_outside_the_eu_pays_no_eu_vat() -> None:
    decision = tax.decide("DE", Buyer("US", None, is_business=False), RATES)
    assert decision == tax.TaxDecision(0, None, tax.OUTSIDE_EU)
    assert _priced(decision, 1190, gross=True) == (1190, 0, 1190)
    with_rate = tax.decide("DE", Buyer("CH", None, is_business=False), {"CH": Rate(810, "MWST")})
    assert _priced(with_rate, 1000, gross=False) == (1000, 81, 1081)


def test_vat_numbers_are_normalised_and_checked() -> None:
    assert tax.normalise_vat_number("DE", "de 136 695 976") == "DE136695976"
    assert tax.normalise_vat_number("DE", "136695976") == "DE136695976"
    assert tax.normalise_vat_number("GR", "094259216") == "EL094259216"
    with pytest.raises(ValueError, match="not a valid VAT number of DE"):
        tax.normalise_vat_number("DE", "DE136695977")
    with pytest.raises(ValueError, match="starting with FR"):
        tax.normalise_vat_number("FR", "DE136695976")


def test_rates_format_as_percentages() -> None:
    assert [tax.format_rate(bps) for bps in (1900, 550, 0, 10000)] == [
        "19.00",
        "5.50",
        "0.00",
        "100.00",
    ]
