"""Long lists of what happened: the wallet's ledger, billing cycles, the activity log."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from skypanel.activity.endpoints import list_activity
from skypanel.subscriptions.endpoints import list_cycles
from skypanel.subscriptions.repository import monthly_spend
from skypanel.wallet.endpoints import get_wallet, list_transactions
from skypanel.web.page import CustomerPage
from skypanel.web.routing import page_router

router = page_router()
PAGE_SIZE = 20
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
async def wallet(
    page: CustomerPage, kind: Kind | None = None, cursor: str | None = None
) -> Response:
    org, session = page.org, page.session
    return page.render(
        "billing/wallet.html",
        wallet=await get_wallet(org, session),
        transactions=await list_transactions(org, session, kind, cursor, PAGE_SIZE),
        kind=kind or "",
        cursor=cursor,
    )


@router.get("/billing")
async def billing_history(page: CustomerPage, cursor: str | None = None) -> Response:
    return page.render(
        "billing/history.html",
        cycles=await list_cycles(page.org, page.session, cursor, PAGE_SIZE),
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
