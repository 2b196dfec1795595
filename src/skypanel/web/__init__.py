"""Server-rendered pages (Jinja2 + htmx) over the same services as the JSON API."""

from __future__ import annotations

from fastapi import FastAPI
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
