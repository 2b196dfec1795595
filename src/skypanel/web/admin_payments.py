"""Admin console: every organization's top-ups, with filters and partial refunds."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Response

from skypanel.models import Organization
from skypanel.payments.endpoints import list_all_top_ups, refund_top_up
from skypanel.payments.schemas import RefundIn
from skypanel.web.page import AdminPage
from skypanel.web.rendering import money
from skypanel.web.routing import page_router

router = page_router("/admin")
PAGE_SIZE = 25
Status = Literal["pending", "succeeded", "failed", "expired", "refunded"]
Provider = Literal["stripe", "paypal"]
STATUSES: tuple[Status, ...] = ("pending", "succeeded", "failed", "expired", "refunded")
PROVIDERS: tuple[Provider, ...] = ("stripe", "paypal")
FLAGGED = {"yes": True, "no": False}


@router.get("/top-ups")
async def top_ups(
    page: AdminPage,
    status: str = "",
    provider: str = "",
    flagged: str = "",
    cursor: str | None = None,
) -> Response:
    """Filters come from a GET form: an empty choice is "any"."""
    chosen_status = next((s for s in STATUSES if s == status), None)
    chosen_provider = next((p for p in PROVIDERS if p == provider), None)
    listed = await list_all_top_ups(
        page.user,
        page.session,
        chosen_status,
        chosen_provider,
        None,
        FLAGGED.get(flagged),
        cursor,
        PAGE_SIZE,
    )
    names: dict[uuid.UUID, str] = {}
    for organization_id in {item.organization_id for item in listed.items}:
        found = await page.session.get(Organization, organization_id)
        names[organization_id] = found.name if found else str(organization_id)
    return page.render(
        "admin/top_ups.html",
        top_ups=listed,
        names=names,
        statuses=STATUSES,
        providers=PROVIDERS,
        status_filter=chosen_status or "",
        provider=chosen_provider or "",
        flagged=flagged if flagged in FLAGGED else "",
        cursor=cursor,
    )


@router.post("/top-ups/{top_up_id}/refunds")
async def refund(top_up_id: uuid.UUID, page: AdminPage) -> Response:
    body = await page.form(RefundIn)
    done = await refund_top_up(page.request, top_up_id, body, page.user, page.session)
    if done.status == "succeeded":
        page.flash("success", f"Refunded {money(done.amount)} to the payer; the wallet is debited.")
    else:
        page.flash(
            "success",
            f"Refund of {money(done.amount)} sent; the wallet was debited and the provider"
            " confirms the refund shortly.",
        )
    return page.back("/admin/top-ups")
