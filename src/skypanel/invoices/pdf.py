"""The PDF of a billing document, drawn from what the document stored and nothing else, so the
PDF of an invoice reads the same years later whatever the settings and rates are by then.

The logo URL is printed, not fetched: drawing it would mean a network call per download.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from skypanel.invoices.tax import format_rate
from skypanel.kit.money import format_money
from skypanel.models.invoices import BillingDocument

_FONTS = Path("/usr/share/fonts/truetype/dejavu")
"""DejaVu Sans covers the scripts of buyers' names; without it, the PDF falls back to Helvetica
(Latin-1 only, other characters shown as `?`)."""

TITLES = {"invoice": "Invoice", "credit_note": "Credit note", "receipt": "Receipt"}
_COLUMNS = (("Description", 70), ("Qty", 12), ("Unit price", 26), ("Net", 26), ("Tax", 22))
_TOTAL_WIDTH = 24


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        regular, bold = _FONTS / "DejaVuSans.ttf", _FONTS / "DejaVuSans-Bold.ttf"
        self.unicode = regular.exists() and bold.exists()
        if self.unicode:
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
        self.family = "DejaVu" if self.unicode else "Helvetica"
        self.set_auto_page_break(auto=True, margin=20)
        self.add_page()

    def text_of(self, value: object) -> str:
        text = str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, *, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_of(self, text: str, *, width: float = 0, align: str = "L", size: float = 10) -> None:
        self.font(size)
        self.cell(width, 5, self.text_of(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(document: BillingDocument, *, related_number: str | None = None) -> bytes:
    """The document as a PDF; amounts are the stored ones, formatted, never recomputed."""
    pdf = _Pdf()
    seller, buyer = document.seller, document.buyer
    pdf.font(18, bold=True)
    pdf.cell(0, 10, pdf.text_of(seller.get("legalName", "")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(14, bold=True)
    title = f"{TITLES[document.kind]} {document.number}"
    pdf.cell(0, 8, pdf.text_of(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line_of(f"Issued {document.issued_at:%Y-%m-%d}")
    if related_number is not None:
        pdf.line_of(f"Credits invoice {related_number}")
    pdf.ln(4)
    _party(pdf, "From", _seller_lines(seller))
    _party(pdf, "Bill to", _buyer_lines(buyer))
    _lines(pdf, document)
    _totals(pdf, document)
    if document.tax_mention:
        pdf.ln(4)
        pdf.font(9)
        pdf.multi_cell(0, 5, pdf.text_of(document.tax_mention))
    return bytes(pdf.output())


def _party(pdf: _Pdf, heading: str, lines: list[str]) -> None:
    pdf.font(10, bold=True)
    pdf.cell(0, 5, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for text in lines:
        pdf.line_of(text)
    pdf.ln(3)


def _seller_lines(seller: dict[str, Any]) -> list[str]:
    lines = [seller.get("legalName", ""), *str(seller.get("address") or "").splitlines()]
    if seller.get("country"):
        lines.append(seller["country"])
    if seller.get("taxId"):
        lines.append(f"Tax id: {seller['taxId']}")
    if seller.get("logoUrl"):
        lines.append(seller["logoUrl"])
    return [line for line in lines if line]


def _buyer_lines(buyer: dict[str, Any]) -> list[str]:
    place = " ".join(part for part in (buyer.get("postalCode"), buyer.get("city")) if part)
    lines = [
        buyer.get("legalName") or "",
        buyer.get("addressLine1") or "",
        buyer.get("addressLine2") or "",
        place,
        buyer.get("region") or "",
        buyer.get("country") or "",
    ]
    if buyer.get("vatNumber"):
        lines.append(f"VAT number: {buyer['vatNumber']}")
    return [line for line in lines if line]


def _lines(pdf: _Pdf, document: BillingDocument) -> None:
    pdf.font(9, bold=True)
    for heading, width in _COLUMNS:
        pdf.cell(width, 6, heading, border="B", align="L" if heading == "Description" else "R")
    pdf.cell(_TOTAL_WIDTH, 6, "Total", border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(9)
    for line in document.lines:
        amounts = [
            str(line["quantity"]),
            format_money(line["unit_cents"]),
            format_money(line["net_cents"]),
            format_money(line["tax_cents"]),
        ]
        pdf.cell(_COLUMNS[0][1], 6, pdf.text_of(line["description"])[:60])
        for text, (_, width) in zip(amounts, _COLUMNS[1:], strict=True):
            pdf.cell(width, 6, text, align="R")
        total = format_money(line["total_cents"])
        pdf.cell(_TOTAL_WIDTH, 6, total, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _totals(pdf: _Pdf, document: BillingDocument) -> None:
    tax_label = f"{document.tax_name or 'Tax'} {format_rate(document.tax_rate_bps)} %"
    rows = (
        ("Subtotal", document.subtotal_cents, False),
        (tax_label, document.tax_cents, False),
        ("Total", document.total_cents, True),
    )
    label_width = sum(width for _, width in _COLUMNS)
    for label, cents, bold in rows:
        pdf.font(10, bold=bold)
        pdf.cell(label_width, 6, pdf.text_of(label), align="R")
        amount = f"{format_money(cents)} {document.currency}"
        pdf.cell(_TOTAL_WIDTH, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
