"""The organization's webhook endpoints: add one (its secret shown once), send a test event,
rotate the secret, remove it, and see its latest deliveries."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.notices import webhooks
from skypanel.web.page import CustomerPage, Page
from skypanel.web.routing import page_router

router = page_router("/webhooks")
RECENT = 5


async def _page(page: Page, secret: str | None = None) -> Response:
    page.org.require("owner", "admin")
    listed = await webhooks.endpoints(page.session, page.org.id)
    recent = {
        endpoint.id: await webhooks.deliveries(page.session, page.org.id, endpoint.id, limit=RECENT)
        for endpoint in listed
    }
    return page.render(
        "webhooks.html",
        endpoints=listed,
        recent=recent,
        secret=secret,
        events=sorted(webhooks.PUBLIC_EVENTS),
    )


@router.get("")
async def show(page: CustomerPage) -> Response:
    return await _page(page)


@router.post("")
async def add(page: CustomerPage) -> Response:
    """The secret is on the answer page only: it is not kept readable anywhere."""
    page.org.require("owner", "admin")
    posted = await page.request.form()
    chosen = [str(value) for value in posted.getlist("events")] or [webhooks.ALL]
    _, secret = await webhooks.create(
        page.session,
        page.org.id,
        url=await page.value("url"),
        events=chosen,
        description=await page.value("description") or None,
        allow_private=page.settings.webhooks_allow_private,
    )
    page.flash("success", "Endpoint added. Copy its signing secret now: it is shown only once.")
    return await _page(page, secret)


@router.post("/{endpoint_id}/test")
async def test_event(endpoint_id: uuid.UUID, page: CustomerPage) -> Response:
    page.org.require("owner", "admin")
    await webhooks.send_test(page.session, page.org.id, endpoint_id)
    page.flash("success", "A test event is on its way; its delivery shows below.")
    return page.redirect("/webhooks")


@router.post("/{endpoint_id}/rotate")
async def rotate(endpoint_id: uuid.UUID, page: CustomerPage) -> Response:
    page.org.require("owner", "admin")
    secret = await webhooks.rotate_secret(page.session, page.org.id, endpoint_id)
    page.flash("success", "New signing secret: the old one no longer verifies. Copy it now.")
    return await _page(page, secret)


@router.post("/{endpoint_id}/delete")
async def remove(endpoint_id: uuid.UUID, page: CustomerPage) -> Response:
    page.org.require("owner", "admin")
    await webhooks.remove(page.session, page.org.id, endpoint_id)
    page.flash("success", "Endpoint removed; nothing more is sent to it.")
    return page.redirect("/webhooks")
