"""Adding funds: the form on the wallet page, the page the payer comes back to, and the
auto-recharge rule.

The payer goes from our page to the provider's by a link, not by a form's redirect, so the
Content-Security-Policy's `form-action 'self'` holds; the return page asks the provider how the
payment stands (what the API's confirm does) and shows it.
"""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.accounts.verification import require_verified
from skypanel.payments.endpoints import (
    confirm_top_up,
    forget_card,
    put_auto_recharge,
    start_top_up,
)
from skypanel.payments.schemas import AutoRechargeIn, TopUpIn
from skypanel.web.page import CustomerPage
from skypanel.web.rendering import money
from skypanel.web.routing import page_router

router = page_router()


@router.post("/wallet/top-ups")
async def start(page: CustomerPage) -> Response:
    require_verified(page.user, page.settings)
    body = await page.form(TopUpIn)
    if body.provider != "stripe":
        body.save_card = False
    top_up = await start_top_up(page.request, body, page.org, page.session, page.settings)
    return page.redirect(f"/wallet/top-ups/{top_up.id}")


@router.get("/wallet/top-ups/{top_up_id}")
async def show(top_up_id: uuid.UUID, page: CustomerPage) -> Response:
    top_up = await confirm_top_up(page.request, top_up_id, page.org, page.session)
    return page.render("billing/top_up.html", top_up=top_up)


@router.post("/wallet/auto-recharge")
async def save_auto_recharge(page: CustomerPage) -> Response:
    """The rule as the API's input; an unticked box is "off" (a form leaves it out)."""
    body = page.validate(
        AutoRechargeIn,
        {
            "enabled": await page.value("enabled") == "true",
            "threshold": await page.value("threshold"),
            "amount": await page.value("amount"),
        },
    )
    rule = await put_auto_recharge(body, page.org, page.session)
    if rule.enabled:
        page.flash(
            "success",
            f"Auto-recharge is on: when the balance falls below {money(rule.threshold)},"
            f" the saved card is charged {money(rule.amount)}.",
        )
    else:
        page.flash("success", "Auto-recharge is off. The card is not charged automatically.")
    return page.redirect("/wallet#auto-recharge")


@router.post("/wallet/auto-recharge/card/forget")
async def forget_saved_card(page: CustomerPage) -> Response:
    await forget_card(page.org, page.session)
    page.flash("success", "The saved card is forgotten; auto-recharge is off.")
    return page.redirect("/wallet#auto-recharge")
