"""The bell: a person's notifications and email preferences; the admins' outbox."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Response

from skypanel.notices import endpoints as notices
from skypanel.notices.schemas import PreferencesIn
from skypanel.web.page import AdminPage, SignedInPage
from skypanel.web.routing import page_router

router = page_router()
PAGE_SIZE = 20


@router.get("/notifications")
async def notifications(page: SignedInPage, cursor: str | None = None) -> Response:
    return page.render(
        "notifications.html",
        notifications=await notices.list_notifications(
            page.user, page.session, False, cursor, PAGE_SIZE
        ),
        preferences=await notices.get_preferences(page.user, page.session),
        cursor=cursor,
    )


@router.get("/notifications/bell")
async def bell(page: SignedInPage) -> Response:
    """The unread count beside the bell, loaded after the page (so no page waits for it)."""
    unread = await notices.list_notifications(page.user, page.session, True, None, 1)
    return page.render("partials/bell.html", unread=unread.unread)


@router.post("/notifications/{notification_id}/open")
async def open_notification(notification_id: uuid.UUID, page: SignedInPage) -> Response:
    """Mark it read and go where it points."""
    await notices.mark_read(notification_id, page.user, page.session)
    target = await page.value("link")
    return page.redirect(target if target.startswith("/") and not target.startswith("//") else "/")


@router.post("/notifications/read-all")
async def read_all(page: SignedInPage) -> Response:
    await notices.mark_all_read(page.user, page.session)
    page.flash("success", "Every notification is marked read.")
    return page.redirect("/notifications")


@router.post("/notifications/preferences")
async def save_preferences(page: SignedInPage) -> Response:
    posted = await page.request.form()
    chosen = PreferencesIn(
        **{name: posted.get(name) == "on" for name in ("billing", "services", "account")}
    )
    await notices.put_preferences(chosen, page.user, page.session)
    page.flash("success", "Email preferences saved.")
    return page.redirect("/notifications")


@router.get("/admin/outbox")
async def outbox(
    page: AdminPage,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    cursor: str | None = None,
) -> Response:
    return page.render(
        "admin/outbox.html",
        messages=await notices.list_outbox(page.user, page.session, status, cursor, PAGE_SIZE),
        chosen=status or "",
        cursor=cursor,
    )
