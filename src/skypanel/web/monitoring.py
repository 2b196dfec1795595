"""Admin console: the platform at a glance, and every subscription and service, filtered."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from skypanel.kit.errors import InvalidInput
from skypanel.models.projects import SERVICE_TYPES
from skypanel.monitoring import endpoints as monitoring
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin/monitoring")
PAGE_SIZE = 20
SUBSCRIPTION_STATUSES = ("active", "past_due", "suspended", "cancelled")
SERVICE_STATUSES = ("creating", "deploying", "running", "stopped", "failed", "crash-looping")


@router.get("")
async def overview(page: AdminPage) -> Response:
    figures = await monitoring.overview(page.request, page.user, page.session)
    by_type: dict[str, int] = {}
    for row in figures.services:
        by_type[row["type"]] = by_type.get(row["type"], 0) + row["count"]
    newest = await monitoring.list_subscriptions(
        page.user, page.session, None, None, None, None, None, 5
    )
    return page.render(
        "admin/monitoring.html",
        figures=figures,
        by_type=by_type,
        services_total=sum(by_type.values()),
        subscriptions=newest.items,
    )


def _choice(value: str, allowed: tuple[str, ...], field: str) -> Any:
    if value and value not in allowed:
        raise InvalidInput(f"Unknown {field}", field=field)
    return value or None


@router.get("/subscriptions")
async def subscriptions(
    page: AdminPage, status: str = "", search: str = "", cursor: str | None = None
) -> Response:
    found = await monitoring.list_subscriptions(
        page.user,
        page.session,
        _choice(status, SUBSCRIPTION_STATUSES, "status"),
        None,
        None,
        search or None,
        cursor,
        PAGE_SIZE,
    )
    return page.render(
        "admin/monitoring_list.html",
        what="subscriptions",
        rows=found.items,
        next_cursor=found.next_cursor,
        cursor=cursor,
        filters={"status": status, "search": search},
        statuses=SUBSCRIPTION_STATUSES,
    )


@router.get("/services")
async def services(
    page: AdminPage,
    status: str = "",
    type: str = "",
    organization: str = "",
    search: str = "",
    cursor: str | None = None,
) -> Response:
    found = await monitoring.list_services(
        page.user,
        page.session,
        _choice(status, SERVICE_STATUSES, "status"),
        _choice(type, SERVICE_TYPES, "type"),
        organization.strip().lower() or None,
        None,
        search or None,
        cursor,
        PAGE_SIZE,
    )
    return page.render(
        "admin/monitoring_list.html",
        what="services",
        rows=found.items,
        next_cursor=found.next_cursor,
        cursor=cursor,
        filters={"status": status, "type": type, "organization": organization, "search": search},
        statuses=SERVICE_STATUSES,
        types=SERVICE_TYPES,
    )
