"""Admin console: the platform at a glance, and every subscription and service, filtered."""

from __future__ import annotations

from fastapi import Response

from skypanel.monitoring import endpoints as monitoring
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin/monitoring")
PAGE_SIZE = 20
SUBSCRIPTION_STATUSES = ("active", "past_due", "suspended", "cancelled")
SERVICE_STATUSES = ("creating", "deploying", "running", "stopped", "failed", "crash-looping")
SERVICE_TYPES = ("app", "postgres", "mysql", "mariadb", "mongo", "redis")


@router.get("")
async def overview(page: AdminPage) -> Response:
    figures = await monitoring.overview(page.request, page.user, page.session)
    by_type: dict[str, int] = {}
    for row in figures.services:
        by_type[row["type"]] = by_type.get(row["type"], 0) + row["count"]
    return page.render(
        "admin/monitoring.html",
        figures=figures,
        by_type=by_type,
        services_total=sum(by_type.values()),
        subscriptions=await monitoring.list_subscriptions(
            page.user, page.session, None, limit=5, offset=0
        ),
    )


@router.get("/subscriptions")
async def subscriptions(page: AdminPage, status: str = "", offset: int = 0) -> Response:
    found = await monitoring.list_subscriptions(
        page.user, page.session, status or None, PAGE_SIZE + 1, max(0, offset)
    )
    return page.render(
        "admin/monitoring_list.html",
        what="subscriptions",
        rows=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        offset=max(0, offset),
        size=PAGE_SIZE,
        filters={"status": status},
        statuses=SUBSCRIPTION_STATUSES,
    )


@router.get("/services")
async def services(
    page: AdminPage, status: str = "", type: str = "", organization: str = "", offset: int = 0
) -> Response:
    found = await monitoring.list_services(
        page.user,
        page.session,
        status or None,
        type or None,
        organization or None,
        PAGE_SIZE + 1,
        max(0, offset),
    )
    return page.render(
        "admin/monitoring_list.html",
        what="services",
        rows=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        offset=max(0, offset),
        size=PAGE_SIZE,
        filters={"status": status, "type": type, "organization": organization},
        statuses=SERVICE_STATUSES,
        types=SERVICE_TYPES,
    )
