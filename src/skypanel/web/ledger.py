"""Long lists of what happened: the wallet's ledger, billing cycles, the activity log."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from skypanel.activity.endpoints import list_activity
from skypanel.invoices import repository as documents
from skypanel.invoices.endpoints import BillingProfileNotFound, get_billing_profile
from skypanel.payments.endpoints import get_auto_recharge, list_top_ups
from skypanel.platform.service import TopUpLimits, get_setting
from skypanel.subscriptions.endpoints import list_cycles
from skypanel.subscriptions.repository import monthly_spend
from skypanel.wallet.endpoints import get_wallet, list_transactions
from skypanel.web.page import CustomerPage, Page
from skypanel.web.pagecache import cached_page
from skypanel.web.routing import page_router

router = page_router()
PAGE_SIZE = 20
RECENT_TOP_UPS = 5
Kind = Literal["credit", "debit", "refund", "adjustment"]
EVENT_TYPES = (
    ("container.subscription", "Subscription"),
    ("container.billing", "Billing"),
    ("wallet", "Wallet"),
    ("organization", "Organization"),
    ("auth", "Sign-ins and passwords"),
)
"""Activity filters: an event type matches itself and every type under it (`wallet.*`)."""


@router.get("/wallet")
@cached_page
async def wallet(
    page: CustomerPage, kind: Kind | None = None, cursor: str | None = None
) -> Response:
    org, session = page.org, page.session
    return page.render(
        "billing/wallet.html",
        wallet=await get_wallet(org, session),
        providers=await page.request.app.state.gateways.providers(session),
        limits=TopUpLimits.model_validate(await get_setting(session, "top_up_limits")),
        can_pay=org.role in ("owner", "admin"),
        transactions=await list_transactions(org, session, kind, cursor, PAGE_SIZE),
        has_profile=await _has_profile(page),
        auto_recharge=await get_auto_recharge(org, session),
        top_ups=(await list_top_ups(org, session, None, RECENT_TOP_UPS)).items,
        kind=kind or "",
        cursor=cursor,
    )


async def _has_profile(page: Page) -> bool:
    """A payment needs the billing details its receipt is addressed to."""
    try:
        await get_billing_profile(page.org, page.session)
    except BillingProfileNotFound:
        return False
    return True


@router.get("/billing")
@cached_page
async def billing_history(page: CustomerPage, cursor: str | None = None) -> Response:
    """The billing cycles, each charge with its invoice."""
    cycles = await list_cycles(page.org, page.session, cursor, PAGE_SIZE)
    entries = [c.payment_transaction_id for c in cycles.items if c.payment_transaction_id]
    return page.render(
        "billing/history.html",
        cycles=cycles,
        invoices=await documents.invoices_of_entries(page.session, page.org.id, entries),
        cursor=cursor,
        spend=await monthly_spend(page.session, page.org.id),
    )


@router.get("/activity")
async def activity(page: CustomerPage, type: str = "", cursor: str | None = None) -> Response:
    events = await list_activity(
        page.org, page.session, type or None, None, None, cursor, PAGE_SIZE
    )
    return page.render(
        "activity.html",
        events=events,
        type=type,
        cursor=cursor,
        event_types=EVENT_TYPES,
        action="/activity",
    )
