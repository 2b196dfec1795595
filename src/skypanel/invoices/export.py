"""The CSV export of an organization's documents, for its accountant."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from skypanel.invoices.tax import format_rate
from skypanel.kit.money import format_money
from skypanel.models.invoices import BillingDocument

HEADER = (
    "number",
    "kind",
    "issued_at",
    "currency",
    "subtotal",
    "tax_rate",
    "tax",
    "total",
    "buyer",
    "buyer_vat_number",
    "reference_type",
    "reference_id",
)


def _cell(text: str) -> str:
    """A buyer's name starting with `=`, `+`, `-` or `@` would run as a formula in a
    spreadsheet: it is quoted with a leading apostrophe."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(documents: Iterable[BillingDocument]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for doc in documents:
        writer.writerow(
            (
                doc.number,
                doc.kind,
                doc.issued_at.isoformat(),
                doc.currency,
                format_money(doc.subtotal_cents),
                format_rate(doc.tax_rate_bps),
                format_money(doc.tax_cents),
                format_money(doc.total_cents),
                _cell(str(doc.buyer.get("legalName") or "")),
                _cell(str(doc.buyer.get("vatNumber") or "")),
                doc.reference_type,
                str(doc.reference_id),
            )
        )
    return out.getvalue()
