"""The organization's documents (invoices, receipts, credit notes) and who they are addressed to.

The API's document routes take a bearer token, so the browser gets the PDF and the CSV from
page routes that call the very same endpoint functions with the session's organization.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Response

from skypanel.invoices.endpoints import (
    BillingProfileNotFound,
    export_documents,
    get_billing_profile,
    get_pdf,
    list_documents,
    put_billing_profile,
)
from skypanel.invoices.schemas import BillingProfileIn
from skypanel.kit.errors import InvalidInput
from skypanel.web.page import CustomerPage, Page
from skypanel.web.routing import page_router

router = page_router()
PAGE_SIZE = 20
Kind = Literal["invoice", "credit_note", "receipt"]
KINDS = (("invoice", "Invoices"), ("receipt", "Receipts"), ("credit_note", "Credit notes"))
PROFILE = "billing/profile.html"


@router.get("/invoices")
async def documents(
    page: CustomerPage, kind: Kind | None = None, cursor: str | None = None
) -> Response:
    return page.render(
        "billing/invoices.html",
        documents=await list_documents(page.org, page.session, kind, cursor, PAGE_SIZE),
        kind=kind or "",
        kinds=KINDS,
        cursor=cursor,
    )


@router.get("/invoices.csv")
async def documents_csv(page: CustomerPage, kind: Kind | None = None) -> Response:
    return await export_documents(page.org, page.session, kind)


@router.get("/invoices/{document_id}.pdf")
async def document_pdf(document_id: uuid.UUID, page: CustomerPage) -> Response:
    return await get_pdf(document_id, page.org, page.session)


@router.get("/billing/profile")
async def profile(page: CustomerPage, then: str = "") -> Response:
    try:
        saved = await get_billing_profile(page.org, page.session)
    except BillingProfileNotFound:
        return _profile_form(page, None, then=then)
    return _profile_form(page, saved.model_dump(by_alias=False), then=then)


@router.post("/billing/profile")
async def save_profile(page: CustomerPage) -> Response:
    """Saved, or the form again with what was typed and the reason in words."""
    try:
        body = await page.form(BillingProfileIn)
    except InvalidInput as exc:
        page.flash("error", exc.message)
        posted = await page.request.form()
        fields = BillingProfileIn.model_fields
        typed: dict[str, Any] = {name: posted.get(name, "") for name in fields}
        typed["is_business"] = posted.get("is_business") == "true"
        return _profile_form(page, typed, status=422, then=await page.value("then"))
    await put_billing_profile(body, page.org, page.session)
    page.flash("success", "Billing details saved. Documents issued from now on carry them.")
    if await page.value("then") == "wallet":
        return page.redirect("/wallet#add-funds")
    return page.redirect("/billing/profile")


def _profile_form(
    page: Page, values: dict[str, Any] | None, *, status: int = 200, then: str = ""
) -> Response:
    """`then=wallet`: back to adding funds once saved (the only place it leads)."""
    return page.render(
        PROFILE,
        status=status,
        then="wallet" if then == "wallet" else "",
        values=values or {},
        exists=values is not None,
        can_edit=page.org.role in ("owner", "admin"),
    )
