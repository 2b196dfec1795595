"""Admin console: the payment gateways (Stripe, PayPal), on the API's own routes."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from skypanel.payments import endpoints as payments
from skypanel.payments.schemas import GatewayIn
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin")
Provider = Literal["stripe", "paypal"]


@router.get("/payments")
async def gateways(page: AdminPage) -> Response:
    listed = await payments.list_gateways(page.request, page.user, page.session, page.settings)
    return page.render("admin/gateways.html", gateways={g.provider: g for g in listed})


@router.post("/payments/{provider}")
async def save(provider: Provider, page: AdminPage) -> Response:
    """Checked with the provider first, unless "save anyway" is ticked."""
    posted = await page.request.form()
    texts = ("secret", "webhook_secret", "client_id", "webhook_id", "api_base")
    data: dict[str, object] = {
        name: value for name in texts if isinstance(value := posted.get(name), str) and value
    }
    for flag in ("enabled", "test_mode", "save_anyway"):
        data[flag] = posted.get(flag) == "on"
    body = page.validate(GatewayIn, data)
    await payments.save_gateway(
        page.request, provider, body, page.user, page.session, page.settings
    )
    state = "configured" if body.enabled else "turned off"
    page.flash("success", f"{provider.title()} payments {state}.")
    return page.redirect("/admin/payments")


@router.post("/payments/{provider}/test")
async def check(provider: Provider, page: AdminPage) -> Response:
    result = await payments.check_gateway(page.request, provider, page.user, page.session, None)
    page.flash("success", result.message)
    return page.redirect("/admin/payments")
