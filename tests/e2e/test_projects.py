"""Projects and services in the browser: create a project, deploy a one-click app, an image and a
database, start, stop, restart, follow logs, see usage, delete; the admin watches the platform."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from skypanel.templates.cli import sync_templates
from tests.e2e.helpers import make_admin, register
from tests.serving import Panel, run

Shot = Callable[..., None]
SLUG = "ellen-ripley-s-organization"


@pytest.fixture(scope="module", autouse=True)
def catalogue(panel: Panel) -> None:
    run(sync_templates(panel.database_url))


def _subscribe(admin: Page, customer: Page) -> None:
    admin.goto("/admin/plans/new")
    for label, value in (
        ("Name", "Team"),
        ("Monthly price (USD)", "25.00"),
        ("vCPU cores", "4"),
        ("Memory (GB)", "8"),
        ("Storage (GB)", "40"),
        ("Containers", "6"),
    ):
        admin.get_by_label(label).fill(value)
    admin.get_by_role("button", name="Create plan").click()
    admin.goto(f"/admin/organizations?search={SLUG}")
    row = admin.locator(f"tr[data-org='{SLUG}']")
    row.get_by_label("Amount for Ellen Ripley's organization").fill("100.00")
    row.get_by_label("Reason").fill("Credit")
    row.get_by_role("button", name="Apply").click()
    expect(admin.locator("#flashes")).to_contain_text("Wallet adjusted by $100.00")
    customer.goto("/plans")
    customer.locator("article", has_text="Team").get_by_role("link", name="Subscribe").click()
    customer.get_by_role("button", name="Confirm and pay $25.00").click()
    expect(customer.locator("#flashes")).to_contain_text("Subscribed to Team.")


def _settle(panel: Panel, page: Page, service: str, status: str) -> None:
    """Let the emulator finish its deploys (the panel's worker delivers them, so its clock moves
    until the page's own polling shows the new status)."""
    deadline = time.monotonic() + 30
    while True:
        panel.easypanel.controller.advance(5)
        try:
            expect(page.get_by_test_id("live-status")).to_have_text(status, timeout=2_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    assert page.get_by_role("heading", name=service).is_visible()


def test_projects_services_and_monitoring(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    register(customer, "Ellen Ripley")
    customer.goto("/projects")
    expect(customer.get_by_role("heading", name="Choose a plan first")).to_be_visible()
    _subscribe(admin, customer)

    admin.goto("/admin/templates")
    admin.locator("tr[data-template='adminer']").get_by_role("button", name="Disable").click()
    expect(admin.locator("#flashes")).to_have_text(
        "Adminer is disabled; deployed services keep running."
    )

    customer.goto("/projects")
    expect(customer.locator(f"li[data-project='{SLUG}']")).to_contain_text("No services")
    customer.get_by_label("Project name").fill("Bad Name")
    customer.get_by_role("button", name="Create project").click()
    expect(customer.locator("#project-name-help")).to_be_visible()
    expect(customer).to_have_url("/projects")
    customer.get_by_label("Project name").fill("shop")
    customer.get_by_role("button", name="Create project").click()
    expect(customer.locator("#flashes")).to_have_text(
        "Project shop created. Deploy its first service."
    )
    expect(customer.get_by_role("heading", name="Nothing deployed yet")).to_be_visible()
    shot(customer, "project-empty")

    customer.get_by_role("link", name="Deploy a service").first.click()
    customer.get_by_label("Search templates").fill("adminer")
    expect(customer.get_by_role("heading", name="No app matches")).to_be_visible()
    admin.locator("tr[data-template='adminer']").get_by_role("button", name="Enable").click()
    expect(admin.locator("#flashes")).to_have_text("Adminer is enabled: customers can deploy it.")
    shot(admin, "admin-templates")
    customer.get_by_label("Search templates").fill("")
    customer.get_by_label("Category").select_option("Monitoring")
    expect(customer.locator("[data-template]")).to_have_count(1)
    shot(customer, "deploy-templates")
    customer.locator("[data-template='uptime-kuma']").click()
    expect(customer.get_by_label("Time zone (optional)")).to_have_value("UTC")
    expect(customer.get_by_test_id("quota-verdict")).to_contain_text("Fits your plan")
    shot(customer, "deploy-template-form")
    customer.get_by_label("Service name prefix (optional)").fill("status")
    customer.get_by_role("button", name="Deploy Uptime Kuma").click()
    expect(customer.locator("#flashes")).to_have_text("Uptime Kuma is being deployed: status-kuma.")
    expect(customer.get_by_test_id("template-inputs")).to_contain_text("UTC")
    shot(customer, "deploy-template-done")

    customer.goto("/projects/shop/deploy?kind=app")
    customer.get_by_label("Service name").fill("web")
    customer.get_by_label("Image", exact=True).fill("nginx:1.27")
    customer.get_by_label("Domains").fill("shop.example.com:80")
    customer.get_by_role("radio", name="GitHub").check()
    customer.get_by_label("Owner").fill("acme")
    customer.get_by_role("radio", name="Docker image").check()
    customer.get_by_label("Variables, one KEY=value per line").fill("MODE live")
    customer.get_by_role("button", name="Deploy app").click()
    expect(customer.locator("#flashes")).to_contain_text("'MODE live' is not KEY=value")
    expect(customer.get_by_label("Service name")).to_have_value("web")
    expect(customer.get_by_label("Image", exact=True)).to_have_value("nginx:1.27")
    expect(customer.get_by_label("Domains")).to_have_value("shop.example.com:80")
    expect(customer.get_by_label("Owner")).to_have_value("acme")
    expect(customer.get_by_role("radio", name="Docker image")).to_be_checked()
    customer.get_by_label("Variables, one KEY=value per line").fill(
        "MODE=live\nAPI_TOKEN=tok-123456"
    )
    customer.get_by_label("vCPU cores").fill("1")
    customer.get_by_label("vCPU cores").press("Tab")
    cpu = customer.locator("#quota-check [data-quota='CPU']")
    expect(cpu).to_contain_text("+ 1")
    shot(customer, "deploy-app")
    customer.get_by_role("button", name="Deploy app").click()
    expect(customer.locator("#flashes")).to_have_text(
        "web is being deployed; its status follows below."
    )
    _settle(panel, customer, "web", "Running")
    expect(customer.get_by_test_id("logs")).to_contain_text("Service started", timeout=10_000)
    expect(customer.get_by_label("Variables, one KEY=value per line")).to_have_value(
        "API_TOKEN=••••••••\nMODE=live"
    )
    customer.get_by_role("button", name="Reveal secrets").click()
    expect(customer.get_by_label("Variables, one KEY=value per line")).to_have_value(
        "API_TOKEN=tok-123456\nMODE=live"
    )
    shot(customer, "service-app")

    customer.goto("/projects/shop/deploy?kind=database")
    customer.get_by_label("Service name").fill("db")
    customer.get_by_role("radio", name="PostgreSQL").check()
    customer.get_by_label("vCPU cores").fill("9")
    customer.get_by_label("vCPU cores").press("Tab")
    expect(customer.get_by_test_id("quota-verdict")).to_contain_text("would pass your plan's cpu")
    customer.get_by_role("button", name="Deploy database").click()
    expect(customer.locator("#flashes")).to_contain_text(
        "This would exceed the plan's limits: vCPU: 9 vCPU requested, 1.5 vCPU of 4 vCPU in use"
    )
    expect(customer.get_by_label("Service name")).to_have_value("db")
    expect(customer.get_by_role("radio", name="PostgreSQL")).to_be_checked()
    expect(customer.get_by_label("vCPU cores")).to_have_value("9")
    shot(customer, "deploy-refused")
    customer.get_by_label("vCPU cores").fill("")
    customer.get_by_role("button", name="Deploy database").click()
    _settle(panel, customer, "db", "Running")
    expect(customer.get_by_test_id("db-password")).to_have_text("••••••••")
    customer.get_by_role("button", name="Reveal password").click()
    expect(customer.get_by_test_id("db-password")).not_to_have_text("••••••••")
    shot(customer, "service-database")

    customer.goto("/projects/shop")
    rows = customer.locator("tbody tr")
    expect(rows).to_have_count(3)
    web = customer.locator("tr[data-service='web']")
    web.get_by_role("button", name="Stop", exact=True).click()
    expect(customer.locator("#flashes")).to_have_text("web is stopping.")
    expect(web.get_by_test_id("service-status")).to_have_text("Stopped")
    web.get_by_role("button", name="Start", exact=True).click()
    expect(customer.locator("#flashes")).to_have_text("web is starting.")
    web.get_by_role("button", name="Restart").click()
    expect(customer.locator("#flashes")).to_have_text("web is restarting.")
    shot(customer, "project-detail")

    customer.goto("/")
    usage = customer.get_by_test_id("usage")
    expect(usage.locator("[data-quota='Containers']")).to_contain_text("3 / 6 containers")
    shot(customer, "dashboard-usage")

    admin.goto("/admin/monitoring")
    expect(admin.get_by_test_id("mrr")).to_have_text("$25.00")
    expect(admin.get_by_test_id("projects")).to_have_text("2")
    expect(admin.get_by_test_id("easypanel")).to_contain_text("Reachable")
    expect(admin.get_by_test_id("subscriptions-by-status")).to_contain_text("Active")
    shot(admin, "admin-monitoring")
    admin.goto("/admin/monitoring/services")
    expect(admin.locator("#list tbody tr")).to_have_count(3)
    admin.get_by_label("Type").select_option("postgres")
    expect(admin.locator("#list tbody tr")).to_have_count(1)
    expect(admin.locator("tr[data-service='db']")).to_contain_text("Ellen Ripley's organization")
    shot(admin, "admin-monitoring-services")

    customer.goto("/projects/shop")
    customer.get_by_label("Type shop to confirm").fill("shop")
    customer.get_by_role("button", name="Delete project").click()
    expect(customer.locator("#flashes")).to_have_text(
        "Project shop still has services; delete them first"
    )
    for name in ("db", "status-kuma"):
        customer.once("dialog", lambda dialog, typed=name: dialog.accept(typed))
        customer.locator(f"tr[data-service='{name}']").get_by_role(
            "button", name=f"Delete {name}"
        ).click()
        expect(customer.locator("#flashes")).to_have_text(
            f"Service {name} is being deleted; its quota is freed once it is gone."
        )
    customer.goto("/projects/shop/services/web")
    customer.get_by_label("Type web to confirm").fill("web")
    customer.get_by_role("button", name="Delete service").click()
    expect(customer.locator("#flashes")).to_have_text(
        "Service web is being deleted; its quota is freed once it is gone."
    )
    # The row says "Deleting" until the worker has deleted it; then the page reloads.
    expect(customer.get_by_role("heading", name="Nothing deployed yet")).to_be_visible(
        timeout=15_000
    )
    customer.get_by_label("Type shop to confirm").fill("shop")
    customer.get_by_role("button", name="Delete project").click()
    expect(customer.locator("#flashes")).to_have_text("Project shop is being deleted.")
    deadline = time.monotonic() + 15
    while customer.locator("li[data-project]").count() != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        customer.reload()
    expect(customer.locator("li[data-project]")).to_have_count(1)

    phone = new_page(width=390, height=844)
    phone.context.add_cookies(customer.context.cookies())
    phone.goto("/projects")
    shot(phone, "phone-projects")
    phone.goto(f"/projects/{SLUG}/deploy?kind=app")
    shot(phone, "phone-deploy-app")
