from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.invoices import export, profiles, repository
from skypanel.invoices.schemas import (
    BillingProfileIn,
    BillingProfileOut,
    DocumentOut,
    DocumentPage,
    TaxRateIn,
    TaxRateOut,
)
from skypanel.invoices.service import DocumentNotFound
from skypanel.kit.errors import NotFound
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.models.invoices import BillingDocument
from skypanel.organizations.auth import CurrentOrg

router = APIRouter(tags=["invoices"])

Kind = Literal["invoice", "credit_note", "receipt"]
CountryPath = Annotated[str, Path(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2")]


class BillingProfileNotFound(NotFound):
    code = "BILLING_PROFILE_NOT_FOUND"


@router.get("/api/invoices", response_model=DocumentPage, responses=responses(401, 404, 422))
async def list_documents(
    org: CurrentOrg,
    session: Session,
    kind: Kind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DocumentPage:
    """The acting organization's invoices, credit notes and receipts, newest first."""
    rows = await repository.documents(session, org.id, kind=kind, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, limit)
    return DocumentPage(
        items=[DocumentOut.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.get(
    "/api/invoices.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(401, 404, 422)},
)
async def export_documents(org: CurrentOrg, session: Session, kind: Kind | None = None) -> Response:
    """Every document of the acting organization as CSV, newest first."""
    rows = await repository.all_documents(session, org.id, kind=kind)
    return Response(
        export.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invoices.csv"'},
    )


async def _document(session: Session, org: CurrentOrg, document_id: uuid.UUID) -> BillingDocument:
    found = await repository.document(session, org.id, document_id)
    if found is None:
        raise DocumentNotFound("Document not found")
    return found


@router.get(
    "/api/invoices/{document_id}", response_model=DocumentOut, responses=responses(401, 404, 422)
)
async def get_document(document_id: uuid.UUID, org: CurrentOrg, session: Session) -> DocumentOut:
    return DocumentOut.model_validate(await _document(session, org, document_id))


@router.get(
    "/api/invoices/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **responses(401, 404, 422)},
)
async def get_pdf(document_id: uuid.UUID, org: CurrentOrg, session: Session) -> Response:
    """The document as a PDF, with the totals exactly as issued."""
    document = await _document(session, org, document_id)
    related = None
    if document.related_document_id is not None:
        related = await repository.document(session, org.id, document.related_document_id)
    # fpdf2 (about 30 MB with Pillow and fontTools) is loaded by the first PDF, not by every
    # process.
    from skypanel.invoices import pdf

    body = pdf.render(document, related_number=related.number if related else None)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document.number}.pdf"'},
    )


@router.get("/api/billing-profile", response_model=BillingProfileOut, responses=responses(401, 404))
async def get_billing_profile(org: CurrentOrg, session: Session) -> BillingProfileOut:
    """Who the acting organization's documents are addressed to."""
    found = await repository.profile(session, org.id)
    if found is None:
        raise BillingProfileNotFound("The organization has no billing profile yet")
    return BillingProfileOut.model_validate(found)


@router.put(
    "/api/billing-profile",
    response_model=BillingProfileOut,
    responses=responses(401, 403, 404, 422),
)
async def put_billing_profile(
    body: BillingProfileIn, org: CurrentOrg, session: Session
) -> BillingProfileOut:
    """Set the billing profile (owners and admins of the organization). Documents already
    issued keep the details they were issued with."""
    org.require("owner", "admin")
    saved = await profiles.save_profile(session, org.id, body.values(), org.user.id)
    return BillingProfileOut.model_validate(saved)


@router.get("/api/admin/tax-rates", response_model=list[TaxRateOut], responses=responses(401, 403))
async def list_tax_rates(_: AdminUser, session: Session) -> list[TaxRateOut]:
    return [TaxRateOut.model_validate(row) for row in await repository.rates(session)]


@router.put(
    "/api/admin/tax-rates/{country}",
    response_model=TaxRateOut,
    responses=responses(401, 403, 422),
)
async def put_tax_rate(
    country: CountryPath, body: TaxRateIn, admin: AdminUser, session: Session
) -> TaxRateOut:
    """Set the rate charged to buyers in `country` (applies to documents issued from now on)."""
    saved = await profiles.save_rate(session, country.upper(), body.rate, body.name, admin.id)
    return TaxRateOut.model_validate(saved)


@router.delete(
    "/api/admin/tax-rates/{country}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
)
async def delete_tax_rate(country: CountryPath, admin: AdminUser, session: Session) -> Response:
    await profiles.delete_rate(session, country.upper(), admin.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
