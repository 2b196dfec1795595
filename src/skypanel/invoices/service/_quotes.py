"""Pricing a document before any money moves: its lines with tax, its seller and its buyer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.invoices import repository, tax
from skypanel.invoices.tax import Line
from skypanel.kit.errors import NotFound
from skypanel.models.invoices import BillingProfile
from skypanel.platform.service import Seller, get_setting


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class Quote:
    """A document priced before any money moves. The caller debits or refunds `total_cents`,
    then issues this very quote (`issue_quoted`, `issue_many`), so the ledger entry and the
    document agree to the cent even if a rate or the buyer's profile changes in between."""

    organization_id: uuid.UUID
    decision: tax.TaxDecision
    lines: tuple[tax.PricedLine, ...]
    seller: dict[str, Any]
    buyer: dict[str, Any]
    related: uuid.UUID | None = None

    @property
    def subtotal_cents(self) -> int:
        return sum(line.net_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class _Terms:
    """The platform settings and rates every quote reads, loaded once per call."""

    seller: Seller
    seller_snapshot: dict[str, Any]
    gross: bool
    rates: dict[str, tax.Rate]


async def _terms(session: AsyncSession) -> _Terms:
    seller = Seller.model_validate(await get_setting(session, "seller"))
    return _Terms(
        seller=seller,
        seller_snapshot=seller.model_dump(mode="json", by_alias=True),
        gross=bool(await get_setting(session, "prices_include_tax")),
        rates={
            row.country: tax.Rate(row.rate_bps, row.name) for row in await repository.rates(session)
        },
    )


def _priced(
    organization_id: uuid.UUID,
    lines: Sequence[Line],
    decision: tax.TaxDecision,
    terms: _Terms,
    buyer: dict[str, Any],
    related: uuid.UUID | None = None,
) -> Quote:
    if not lines:
        raise ValueError("a document needs at least one line")
    return Quote(
        organization_id=organization_id,
        decision=decision,
        lines=tuple(tax.price_all(lines, decision, gross=terms.gross)),
        seller=terms.seller_snapshot,
        buyer=buyer,
        related=related,
    )


async def quote(
    session: AsyncSession,
    organization_id: uuid.UUID,
    lines: Sequence[Line],
    *,
    related: uuid.UUID | None = None,
    taxed: bool = True,
) -> Quote:
    """Price one document: tax added to net prices or taken out of gross ones, as `issue`
    would. A credit note's quote (`related`) takes that invoice's tax treatment."""
    terms = await _terms(session)
    profile = await repository.profile(session, organization_id)
    decision = await _decision(session, organization_id, terms, profile, related, taxed)
    buyer = await _buyer(session, organization_id, profile)
    return _priced(organization_id, lines, decision, terms, buyer, related)


async def quote_many(
    session: AsyncSession, charges: Sequence[tuple[uuid.UUID, Sequence[Line]]]
) -> list[Quote]:
    """Price the invoices of many charges (organization, lines) with one read of the settings,
    rates, profiles and names: a billing run's renewals."""
    terms = await _terms(session)
    organizations = {organization_id for organization_id, _ in charges}
    profiles = await repository.profiles(session, organizations)
    names = await repository.organization_names(session, organizations - profiles.keys())
    quotes = []
    for organization_id, lines in charges:
        profile = profiles.get(organization_id)
        decision = tax.decide(terms.seller.country, _tax_buyer(profile), terms.rates)
        buyer = _snapshot(profile) if profile else {"legalName": names.get(organization_id)}
        quotes.append(_priced(organization_id, lines, decision, terms, buyer))
    return quotes


async def _decision(
    session: AsyncSession,
    organization_id: uuid.UUID,
    terms: _Terms,
    profile: BillingProfile | None,
    related: uuid.UUID | None,
    taxed: bool,
) -> tax.TaxDecision:
    if related is not None:
        invoice = await repository.document(session, organization_id, related)
        if invoice is None:
            raise DocumentNotFound("The document to credit was not found")
        return tax.TaxDecision(
            rate_bps=invoice.tax_rate_bps,
            name=invoice.tax_name,
            mention=invoice.tax_mention,
            reverse_charge=invoice.tax_mention == tax.REVERSE_CHARGE,
        )
    if not taxed:
        return tax.UNTAXED
    return tax.decide(terms.seller.country, _tax_buyer(profile), terms.rates)


def _tax_buyer(profile: BillingProfile | None) -> tax.Buyer | None:
    if profile is None:
        return None
    return tax.Buyer(
        country=profile.country, vat_number=profile.vat_number, is_business=profile.is_business
    )


async def _buyer(
    session: AsyncSession, organization_id: uuid.UUID, profile: BillingProfile | None
) -> dict[str, Any]:
    """The buyer as printed on the document; without a profile, the organization's name."""
    if profile is None:
        return {"legalName": await repository.organization_name(session, organization_id)}
    return _snapshot(profile)


def _snapshot(profile: BillingProfile) -> dict[str, Any]:
    return {
        "legalName": profile.legal_name,
        "addressLine1": profile.address_line1,
        "addressLine2": profile.address_line2,
        "postalCode": profile.postal_code,
        "city": profile.city,
        "region": profile.region,
        "country": profile.country,
        "vatNumber": profile.vat_number,
        "isBusiness": profile.is_business,
    }
