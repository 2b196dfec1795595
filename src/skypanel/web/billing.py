"""Plans: subscribe, change plan, cancel — each through the subscription API's own code."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.accounts.verification import require_verified
from skypanel.kit.errors import InvalidInput
from skypanel.kit.money import format_money
from skypanel.plans.endpoints import list_active_plans
from skypanel.plans.service import get_plan
from skypanel.subscriptions import endpoints as subscriptions
from skypanel.subscriptions.schemas import SubscribeIn
from skypanel.subscriptions.service import NoSubscription
from skypanel.wallet.endpoints import get_wallet
from skypanel.web.dashboard import current_subscription
from skypanel.web.page import CustomerPage
from skypanel.web.routing import page_router

router = page_router()


@router.get("/plans")
async def plans(page: CustomerPage) -> Response:
    return page.render(
        "billing/plans.html",
        plans=await list_active_plans(page.user, page.session),
        subscription=await current_subscription(page),
        wallet=await get_wallet(page.org, page.session),
    )


@router.get("/plans/{plan_id}/confirm")
async def confirm(plan_id: uuid.UUID, page: CustomerPage) -> Response:
    """What subscribing (or switching) will cost, with one button to go ahead."""
    return page.render(
        "billing/confirm.html",
        plan=await get_plan(page.session, plan_id),
        subscription=await current_subscription(page),
        wallet=await get_wallet(page.org, page.session),
        idempotency_key=uuid.uuid4().hex,
    )


@router.post("/plans/{plan_id}/subscribe")
async def subscribe(plan_id: uuid.UUID, page: CustomerPage) -> Response:
    """The API's subscribe: pay the first month, commit, then provision on Easypanel.

    The confirm page's idempotency key makes a double-submitted form subscribe once.
    """
    require_verified(page.user, page.settings)
    plan = await get_plan(page.session, plan_id)
    await subscriptions.subscribe(
        SubscribeIn(plan_id=plan_id, region=await page.value("region") or None),
        page.org,
        page.session,
        page.settings,
        idempotency_key=await page.value("idempotency_key") or None,
    )
    page.flash(
        "success",
        f"Subscribed to {plan.name}. ${format_money(plan.price_monthly_cents)} was paid "
        "from your wallet; your Easypanel project is being set up.",
    )
    return page.redirect("/")


@router.post("/plans/{plan_id}/change")
async def change(plan_id: uuid.UUID, page: CustomerPage) -> Response:
    result = await subscriptions.change_plan(SubscribeIn(plan_id=plan_id), page.org, page.session)
    page.flash(
        "success",
        f"Your plan is now {result.subscription.plan.name}: "
        f"${format_money(result.charged)} charged, ${format_money(result.credited)} credited "
        "for the rest of this period.",
    )
    return page.redirect("/")


@router.get("/subscription/cancel")
async def cancel_form(page: CustomerPage) -> Response:
    subscription = await current_subscription(page)
    if subscription is None:
        raise NoSubscription("The organization has no subscription")
    return page.render("billing/cancel.html", subscription=subscription)


@router.post("/subscription/cancel")
async def cancel(page: CustomerPage) -> Response:
    """Confirmed by typing the organization's slug, whatever is deployed."""
    typed = await page.value("confirm")
    if typed != page.org.organization.slug:
        raise InvalidInput(
            f"Type the organization's slug, {page.org.organization.slug}, to confirm cancelling"
        )
    result = await subscriptions.cancel(page.org, page.session, confirm=typed)
    page.flash(
        "success",
        f"Subscription cancelled. ${format_money(result.refund_amount)} was refunded to your "
        f"wallet; {result.projects_deleted} project(s) and {result.services_deleted} "
        "service(s) deleted.",
    )
    return page.redirect("/")
