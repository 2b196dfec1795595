"""Issuing billing documents, and the billing profiles and tax rates they are built from.

`issue` is called by whoever charges, refunds or takes a top-up, inside that transaction: the
document exists exactly when the money moved. It never commits (the unit of work does, see
`skypanel.kit.uow`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.invoices import repository, tax
from skypanel.invoices.tax import Line
from skypanel.kit import clock
from skypanel.kit.errors import Conflict, NotFound
from skypanel.kit.money import CURRENCY, format_money
from skypanel.models.invoices import BillingDocument, BillingProfile
from skypanel.notices import service as notices
from skypanel.platform.service import DocumentNumbers, Seller, get_setting

Kind = Literal["invoice", "credit_note", "receipt"]

_REFERENCE_CONSTRAINT = "uq_billing_documents_kind_reference_type_reference_id"


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"


class ReferenceTaken(Conflict):
    """A reference (a ledger entry, a top-up) belongs to one organization's document only."""

    code = "DOCUMENT_REFERENCE_TAKEN"


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


async def issue(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    kind: Kind,
    lines: Sequence[Line],
    reference: tuple[str, uuid.UUID],
    related: uuid.UUID | None = None,
    taxed: bool = True,
) -> BillingDocument:
    """Issue the document of one charge (invoice), refund (credit note) or top-up (receipt,
    `taxed=False`), numbered in the caller's transaction: `quote`, then `issue_quoted`.

    Idempotent on `reference`: the same (kind, reference) returns the document already issued,
    also when a concurrent transaction issued it first. A credit note names the invoice it
    corrects in `related` and takes that invoice's tax treatment, whatever the rates are now.
    """
    if related is not None and kind != "credit_note":
        raise ValueError("only a credit note refers to another document")
    existing = await _existing(session, organization_id, kind, reference)
    if existing is not None:
        return existing
    priced = await quote(session, organization_id, lines, related=related, taxed=taxed)
    return await issue_quoted(session, priced, kind=kind, reference=reference)


async def issue_quoted(
    session: AsyncSession, quote: Quote, *, kind: Kind, reference: tuple[str, uuid.UUID]
) -> BillingDocument:
    """Issue a quoted document, idempotent on (kind, reference) like `issue`."""
    if quote.related is not None and kind != "credit_note":
        raise ValueError("only a credit note refers to another document")
    existing = await _existing(session, quote.organization_id, kind, reference)
    if existing is not None:
        return existing
    issued_at = clock.now()
    patterns = await _patterns(session)
    try:
        async with session.begin_nested():
            number = await repository.next_number(session, kind, issued_at.year)
            document = BillingDocument(
                **_row(
                    quote,
                    kind,
                    reference,
                    _number(patterns, kind, number, issued_at.year),
                    issued_at,
                )
            )
            session.add(document)
            await session.flush()
    except IntegrityError as exc:
        # Lost the race for this reference: the savepoint took our number back.
        cause = getattr(exc.orig, "__cause__", None)
        if getattr(cause, "constraint_name", None) != _REFERENCE_CONSTRAINT:
            raise
        found = await _existing(session, quote.organization_id, kind, reference)
        assert found is not None
        return found
    fields = ("id", "kind", "number", "total_cents", "currency", "organization_id")
    await notices.record(session, [_issued({name: getattr(document, name) for name in fields})])
    return document


async def issue_many(
    session: AsyncSession, kind: Kind, documents: Sequence[tuple[Quote, tuple[str, uuid.UUID]]]
) -> list[uuid.UUID]:
    """Issue many quoted documents of one kind: one counter statement takes all their numbers,
    consecutive in the order given, and one statement inserts them. Returns their ids.

    For references created in the same transaction (a billing run's new ledger entries), which
    no other document can hold yet: a clash is a bug and fails the whole transaction."""
    if not documents:
        return []
    issued_at = clock.now()
    patterns = await _patterns(session)
    first = await repository.take_numbers(session, kind, issued_at.year, len(documents))
    rows = [
        _row(
            quote,
            kind,
            reference,
            _number(patterns, kind, first + offset, issued_at.year),
            issued_at,
        )
        for offset, (quote, reference) in enumerate(documents)
    ]
    await repository.add_documents(session, rows)
    await notices.record(session, [_issued(row) for row in rows])
    return [row["id"] for row in rows]


def _issued(document: dict[str, Any]) -> notices.Fact:
    """`invoice.issued` for the webhooks (invoices, receipts and credit notes alike)."""
    return notices.Fact(
        "invoice.issued",
        f"document:{document['id']}",
        {
            "documentId": str(document["id"]),
            "kind": document["kind"],
            "number": document["number"],
            "total": format_money(document["total_cents"]),
            "currency": document["currency"],
        },
        document["organization_id"],
    )


async def _patterns(session: AsyncSession) -> DocumentNumbers:
    return DocumentNumbers.model_validate(await get_setting(session, "document_numbers"))


def _number(patterns: DocumentNumbers, kind: Kind, number: int, year: int) -> str:
    pattern: str = getattr(patterns, kind)
    return pattern.format(year=year, number=number)


def _row(
    quote: Quote,
    kind: Kind,
    reference: tuple[str, uuid.UUID],
    number: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The columns of one document: the one builder of `issue_quoted` and `issue_many`."""
    return {
        "id": uuid.uuid4(),
        "organization_id": quote.organization_id,
        "kind": kind,
        "number": number,
        "year": issued_at.year,
        "issued_at": issued_at,
        "currency": CURRENCY,
        "subtotal_cents": quote.subtotal_cents,
        "tax_cents": quote.tax_cents,
        "total_cents": quote.total_cents,
        "tax_rate_bps": quote.decision.rate_bps,
        "tax_name": quote.decision.name,
        "tax_mention": quote.decision.mention,
        "seller": quote.seller,
        "buyer": quote.buyer,
        "lines": [_line_json(line) for line in quote.lines],
        "reference_type": reference[0],
        "reference_id": reference[1],
        "related_document_id": quote.related,
    }


def _line_json(line: tax.PricedLine) -> dict[str, Any]:
    """A line as stored (`dataclasses.asdict` deep-copies: too slow for a billing run's batch)."""
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_cents": line.unit_cents,
        "net_cents": line.net_cents,
        "tax_cents": line.tax_cents,
        "total_cents": line.total_cents,
    }


async def _existing(
    session: AsyncSession, organization_id: uuid.UUID, kind: str, reference: tuple[str, uuid.UUID]
) -> BillingDocument | None:
    found = await repository.by_reference(session, kind, *reference)
    if found is not None and found.organization_id != organization_id:
        raise ReferenceTaken(
            "This reference already has a document of another organization",
            referenceType=reference[0],
            referenceId=str(reference[1]),
        )
    return found


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
