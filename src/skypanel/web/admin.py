"""Admin console: users, organizations with wallet adjustments, platform activity."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.activity.endpoints import list_all_activity
from skypanel.admin import endpoints as admin
from skypanel.admin.schemas import UserUpdateIn
from skypanel.kit.money import format_money
from skypanel.wallet.schemas import AdjustmentIn
from skypanel.web.ledger import PAGE_SIZE
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin")

ADMIN_EVENT_TYPES = (
    ("container.plan", "Plans"),
    ("container.subscription", "Subscriptions"),
    ("container.billing", "Billing"),
    ("wallet", "Wallets"),
    ("admin", "Admin changes"),
    ("platform", "Platform settings"),
    ("easypanel", "Easypanel"),
    ("auth", "Sign-ins"),
)


@router.get("")
async def home(page: AdminPage) -> Response:
    return page.redirect("/admin/users")


@router.get("/users")
async def users(page: AdminPage, search: str = "", cursor: str | None = None) -> Response:
    found = await admin.list_users(page.user, page.session, search or None, cursor, PAGE_SIZE)
    return page.render("admin/users.html", users=found, search=search, cursor=cursor)


@router.post("/users/{user_id}")
async def update_user(user_id: uuid.UUID, page: AdminPage) -> Response:
    """Promote, demote, disable or enable an account (one button per change)."""
    form = await page.form(UserUpdateIn)
    user = await admin.update_user(user_id, form, page.user, page.session)
    state = "active" if user.is_active else "disabled"
    page.flash("success", f"{user.email} is now {user.role}, {state}.")
    return page.back("/admin/users")


@router.get("/organizations")
async def organizations(page: AdminPage, search: str = "", cursor: str | None = None) -> Response:
    found = await admin.list_organizations(
        page.user, page.session, search or None, cursor, PAGE_SIZE
    )
    return page.render("admin/organizations.html", orgs=found, search=search, cursor=cursor)


@router.post("/organizations/{organization_id}/adjust")
async def adjust_wallet(organization_id: uuid.UUID, page: AdminPage) -> Response:
    """The API's wallet adjustment (a credit also settles overdue renewals at once)."""
    form = await page.form(AdjustmentIn)
    entry = await admin.adjust_wallet(
        page.request,
        organization_id,
        form,
        page.user,
        page.session,
        idempotency_key=await page.value("idempotency_key") or None,
    )
    page.flash(
        "success",
        f"Wallet adjusted by ${format_money(entry.amount)}; "
        f"the balance is now ${format_money(entry.balance_after)}.",
    )
    return page.back("/admin/organizations")


@router.get("/activity")
async def activity(page: AdminPage, type: str = "", cursor: str | None = None) -> Response:
    events = await list_all_activity(
        page.user, page.session, None, type or None, None, None, cursor, PAGE_SIZE
    )
    return page.render(
        "activity.html",
        events=events,
        type=type,
        cursor=cursor,
        event_types=ADMIN_EVENT_TYPES,
        action="/admin/activity",
        everyone=True,
    )
