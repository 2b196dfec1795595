"""Jinja2 set-up: the template directory, formatting filters and the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from skypanel.kit.money import format_money

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str
    icon: str


@dataclass(frozen=True, slots=True)
class NavSection:
    title: str
    items: tuple[NavItem, ...]
    admin: bool = False


NAVIGATION = (
    NavSection(
        "Workspace",
        (
            NavItem("Dashboard", "/", "layout-dashboard"),
            NavItem("Projects", "/projects", "folder"),
            NavItem("Plans", "/plans", "layers"),
        ),
    ),
    NavSection(
        "Billing",
        (
            NavItem("Wallet", "/wallet", "wallet"),
            NavItem("Documents", "/invoices", "receipt"),
            NavItem("Billing history", "/billing", "history"),
        ),
    ),
    NavSection(
        "Organization",
        (
            NavItem("Members", "/organization", "users"),
            NavItem("Activity", "/activity", "activity"),
            NavItem("Webhooks", "/webhooks", "zap"),
        ),
    ),
    NavSection(
        "Administration",
        (
            NavItem("Users", "/admin/users", "user"),
            NavItem("Organizations", "/admin/organizations", "building-2"),
            NavItem("Top-ups", "/admin/top-ups", "credit-card"),
            NavItem("Plans", "/admin/plans", "package"),
            NavItem("Templates", "/admin/templates", "layout-template"),
            NavItem("Monitoring", "/admin/monitoring", "gauge"),
            NavItem("Easypanel", "/admin/easypanel", "server"),
            NavItem("Servers", "/admin/servers", "boxes"),
            NavItem("Backups", "/admin/backups", "hard-drive"),
            NavItem("Settings", "/admin/settings", "palette"),
            NavItem("Activity", "/admin/activity", "history"),
            NavItem("Outbox", "/admin/outbox", "mail"),
        ),
        admin=True,
    ),
)
"""The sidebar. A new area (projects, services, templates) is one more item here."""


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "—"
    symbol = "$" if currency == "USD" else f"{currency} "
    text = format_money(abs(cents))
    whole, _, part = text.partition(".")
    return f"{'-' if cents < 0 else ''}{symbol}{int(whole):,}.{part}"


def number(value: float | Decimal) -> str:
    """2.0 -> "2", 0.50 -> "0.5"."""
    return f"{float(value):g}"


def when(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%b %-d, %Y %H:%M} UTC"


def day(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%b %-d, %Y}"


TONES = {
    "active": "ok",
    "ready": "ok",
    "billed": "ok",
    "succeeded": "ok",
    "success": "ok",
    "connected": "ok",
    "credit": "ok",
    "refund": "ok",
    "running": "ok",
    "enabled": "ok",
    "pending": "wait",
    "creating": "wait",
    "deploying": "wait",
    "starting": "wait",
    "restarting": "wait",
    "deleting": "wait",
    "stopping": "wait",
    "stopped": "muted",
    "crash-looping": "bad",
    "missing": "bad",
    "provisioning": "wait",
    "grace": "warn",
    "past_due": "warn",
    "warning": "warn",
    "adjustment": "info",
    "owner": "info",
    "admin": "info",
    "suspended": "bad",
    "failed": "bad",
    "failure": "bad",
    "error": "bad",
    "cancelled": "muted",
    "refunded": "muted",
    "inactive": "muted",
    "disabled": "bad",
}


def tone(status: str | None) -> str:
    return TONES.get(status or "", "muted")


def label(status: str | None) -> str:
    return (status or "unknown").replace("_", " ").capitalize()


templates.env.filters.update(money=money, number=number, when=when, day=day, tone=tone, label=label)
SETTLES = ("failed",)
"""Statuses that do not change by themselves: a page showing one stops following."""


def following(status: str, desired: str) -> bool:
    """Whether a service's page, row or card keeps reading its status: until what Easypanel
    shows is what the customer asked for (running or stopped), or nothing more can happen."""
    return status != desired and status not in SETTLES


@pass_context
def csp_nonce(context: Context) -> str:
    """This request's Content-Security-Policy nonce (`skypanel.http.headers`): a `<script>` or
    `<style>` element in a template carries `nonce="{{ csp_nonce() }}"`."""
    request = context.get("request")
    return str(getattr(request.state, "csp_nonce", "")) if request is not None else ""


templates.env.globals.update(NAVIGATION=NAVIGATION, following=following, csp_nonce=csp_nonce)
