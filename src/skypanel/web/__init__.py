"""Server-rendered pages (Jinja2 + htmx) over the same services as the JSON API."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from skypanel.web import (
    account_flows,
    admin,
    admin_moves,
    admin_payments,
    admin_servers,
    admin_storage,
    auth,
    backups,
    billing,
    catalog,
    dashboard,
    deploy,
    deployments,
    domains,
    gateways,
    invoices,
    ledger,
    monitoring,
    notifications,
    organizations,
    platform,
    projects,
    services,
    topups,
    webhooks,
)
from skypanel.web.pagecache import CachedPages, is_cached
from skypanel.web.rendering import HERE

ROUTERS = (
    auth.router,
    account_flows.router,
    dashboard.router,
    billing.router,
    ledger.router,
    topups.router,
    invoices.router,
    organizations.router,
    admin.router,
    admin_payments.router,
    admin_moves.router,
    admin_servers.router,
    admin_storage.router,
    platform.router,
    gateways.router,
    projects.router,
    services.router,
    deployments.router,
    domains.router,
    backups.router,
    deploy.router,
    catalog.router,
    monitoring.router,
    notifications.router,
    webhooks.router,
)


def install_web(app: FastAPI) -> None:
    """Mount the pages and the static files (vendored assets included: no CDN)."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def cached_paths() -> list[re.Pattern[str]]:
    """The paths of the pages kept whole for a few seconds (`skypanel.web.pagecache`)."""
    return [
        route.path_regex
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and is_cached(route.endpoint)
    ]


__all__ = ["ROUTERS", "CachedPages", "cached_paths", "install_web"]
