"""The customer's home: subscription, provisioning, wallet, recent money and events."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response

from skypanel.activity.endpoints import list_activity
from skypanel.services.status import IN_PROGRESS, TRANSITIONS
from skypanel.subscriptions import cycles, repository
from skypanel.subscriptions import endpoints as subscriptions
from skypanel.subscriptions.schemas import ProjectBrief, SubscriptionOut
from skypanel.wallet.endpoints import get_wallet, list_transactions
from skypanel.web.page import CustomerPage, Page
from skypanel.web.pagecache import cached_page
from skypanel.web.routing import page_router
from skypanel.web.usage import usage_bars

router = page_router()


async def current_subscription(page: Page) -> SubscriptionOut | None:
    """The organization's live subscription as the API shows it, or None."""
    found = await repository.live(page.session, page.org.id)
    return None if found is None else await subscriptions.subscription_view(page.session, found)


async def _projects(page: Page) -> dict[str, Any]:
    """The projects with their services counted by status, as recorded (a service the health
    watch found crashing counts as crash-looping), and whether any is still on its way: the
    dashboard reads no Easypanel, and follows changes until they are done."""
    org, session = page.org, page.session
    projects = [ProjectBrief.model_validate(p) for p in await repository.projects(session, org.id)]
    counts: dict[uuid.UUID, dict[str, int]] = {}
    changing = False
    for service in await repository.services(session, org.id):
        shown = "crash-looping" if service.crash_looping_since else service.status
        changing = changing or shown in (*TRANSITIONS, *IN_PROGRESS)
        by_status = counts.setdefault(service.project_id, {})
        by_status[shown] = by_status.get(shown, 0) + 1
    changing = changing or any(p.status == "creating" for p in projects)
    return {"projects": projects, "services": counts, "changing": changing}


@router.get("/dashboard/projects")
async def dashboard_projects(page: CustomerPage) -> Response:
    return page.render("partials/dashboard_projects.html", **await _projects(page))


@router.get("/")
@cached_page
async def dashboard(page: CustomerPage) -> Response:
    org, session = page.org, page.session
    subscription = await current_subscription(page)
    wallet = await get_wallet(org, session)
    renewal = None
    if subscription is not None and subscription.status in ("active", "past_due"):
        renewal = await cycles.charged_cents(session, org.id, subscription.plan.price_monthly)
    return page.render(
        "dashboard.html",
        subscription=subscription,
        wallet=wallet,
        short_for_renewal=renewal if renewal is not None and wallet.balance < renewal else None,
        **await _projects(page),
        transactions=(await list_transactions(org, session, limit=5)).items,
        events=(await list_activity(org, session, limit=6)).items,
        bars=await usage_bars(page),
    )


@router.post("/subscription/easypanel-login")
async def reveal_login(page: CustomerPage) -> Response:
    """The organization's Easypanel login, revealed to owners and admins (audited)."""
    secret = await subscriptions.reveal_login(page.org, page.session)
    return page.render("partials/easypanel_login.html", secret=secret)
