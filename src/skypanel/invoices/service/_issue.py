"""Issuing quoted documents: numbered from the per-kind-and-year counter, stored, told."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.invoices import repository, tax
from skypanel.invoices.service._quotes import Quote, quote
from skypanel.invoices.tax import Line
from skypanel.kit import clock
from skypanel.kit.errors import Conflict
from skypanel.kit.money import CURRENCY, format_money
from skypanel.models.invoices import BillingDocument
from skypanel.notices import service as notices
from skypanel.platform.service import DocumentNumbers, get_setting

Kind = Literal["invoice", "credit_note", "receipt"]

_REFERENCE_CONSTRAINT = "uq_billing_documents_kind_reference_type_reference_id"


class ReferenceTaken(Conflict):
    """A reference (a ledger entry, a top-up) belongs to one organization's document only."""

    code = "DOCUMENT_REFERENCE_TAKEN"


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
    no other document can hold yet: a clash is a bug and fails the whole transaction. The rows
    are built before the numbers are taken: from then on the counter row is locked until the
    caller commits, so only the inserts follow (a billing run issues last)."""
    if not documents:
        return []
    issued_at = clock.now()
    patterns = await _patterns(session)
    rows = [_row(quote, kind, reference, "", issued_at) for quote, reference in documents]
    first = await repository.take_numbers(session, kind, issued_at.year, len(rows))
    for offset, row in enumerate(rows):
        row["number"] = _number(patterns, kind, first + offset, issued_at.year)
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
