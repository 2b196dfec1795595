"""The money path in the browser: admin sets up Easypanel and plans, credits a customer, who
subscribes, changes plan and cancels; every step checked on the page that shows it."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import flash, make_admin, register
from tests.serving import Panel

Shot = Callable[..., None]


def _create_plan(admin: Page, name: str, price: str, cpu: str, memory: str) -> None:
    admin.goto("/admin/plans/new")
    admin.get_by_label("Name").fill(name)
    admin.get_by_label("Monthly price (USD)").fill(price)
    admin.get_by_label("Description").fill(f"{name}: {cpu} vCPU and {memory} GB of memory")
    admin.get_by_label("vCPU cores").fill(cpu)
    admin.get_by_label("Memory (GB)").fill(memory)
    admin.get_by_label("Storage (GB)").fill("20")
    admin.get_by_label("Containers").fill("5")
    admin.get_by_role("button", name="Create plan").click()
    expect(admin.locator("#flashes")).to_have_text(f"Plan {name} created and open to subscribers.")


def test_admin_connects_easypanel_with_a_test_button(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin = new_page()
    make_admin(panel, admin)
    admin.goto("/admin/easypanel")
    admin.get_by_label("Server URL").fill(panel.easypanel.base_url)
    admin.get_by_label("API token").fill(panel.easypanel.token)
    admin.get_by_label("API dialect").select_option("orpc")
    admin.get_by_role("button", name="Test connection").click()
    expect(admin.get_by_test_id("test-result")).to_contain_text("Connection OK")
    shot(admin, "admin-easypanel")

    admin.get_by_label("API token").fill("wrong-token-123")
    admin.get_by_role("button", name="Test connection").click()
    expect(admin.get_by_test_id("test-result")).to_contain_text("Connection failed")
    admin.get_by_role("button", name="Save connection").click()
    assert flash(admin).startswith("Connection test failed")

    admin.get_by_label("API token").fill(panel.easypanel.token)
    admin.get_by_role("button", name="Save connection").click()
    expect(admin.locator("#flashes")).to_contain_text("Easypanel connection saved")
    expect(admin.get_by_text("Connected", exact=True)).to_be_visible()


def test_subscribe_change_plan_and_cancel(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    shot(admin, "admin-users")
    admin.goto("/admin/plans")
    shot(admin, "admin-plans-empty")
    _create_plan(admin, "Starter", "9.50", "1", "2")
    _create_plan(admin, "Growth", "30.00", "4", "8")
    row = admin.locator("tr", has_text="Growth")
    expect(row).to_contain_text("$30.00")
    expect(row).to_contain_text("Active")
    shot(admin, "admin-plans")

    register(customer, "Clarice Starling")
    slug = "clarice-starling-s-organization"
    # Customer logins are off by default; this provider gives each organization one.
    admin.goto("/admin/settings")
    admin.get_by_label("Customer Easypanel logins").check()
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.locator("#flashes")).to_have_text("Settings saved.")

    customer.goto("/plans")
    shot(customer, "plans")
    customer.locator("article", has_text="Starter").get_by_role("link", name="Subscribe").click()
    expect(customer.get_by_role("button", name="Confirm and pay $9.50")).to_be_disabled()
    expect(customer.get_by_test_id("top-up-first")).to_contain_text("Top up first")

    admin.goto(f"/admin/organizations?search={slug}")
    org_row = admin.locator(f"tr[data-org='{slug}']")
    expect(org_row).to_contain_text("$0.00")
    org_row.get_by_label("Amount for Clarice Starling's organization").fill("100.00")
    org_row.get_by_label("Reason").fill("Welcome credit")
    org_row.get_by_role("button", name="Apply").click()
    expect(admin.locator("#flashes")).to_have_text(
        "Wallet adjusted by $100.00; the balance is now $100.00."
    )
    expect(admin.locator(f"tr[data-org='{slug}']")).to_contain_text("$100.00")
    shot(admin, "admin-organizations")

    customer.goto("/plans")
    customer.locator("article", has_text="Starter").get_by_role("link", name="Subscribe").click()
    shot(customer, "plan-confirm")
    customer.get_by_role("button", name="Confirm and pay $9.50").click()
    expect(customer.locator("#flashes")).to_contain_text("Subscribed to Starter.")
    expect(customer.get_by_test_id("subscription-status")).to_have_text("Active")
    expect(customer.get_by_test_id("provisioning")).to_have_text("Ready")
    expect(customer.locator("tr", has_text=slug)).to_contain_text("Active")
    expect(customer.get_by_test_id("balance")).to_have_text("$90.50")
    customer.get_by_role("button", name="Reveal login").click()
    expect(customer.get_by_test_id("easypanel-secret")).to_contain_text(
        f"{slug}@customers.skypanel.invalid"
    )
    shot(customer, "dashboard-subscribed")

    customer.goto("/wallet")
    expect(customer.get_by_test_id("wallet-balance")).to_have_text("$90.50")
    rows = customer.locator("#list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Starter plan")
    expect(rows.nth(0)).to_contain_text("-$9.50")
    expect(rows.nth(1)).to_contain_text("Welcome credit")
    expect(rows.nth(1)).to_contain_text("+$100.00")
    customer.get_by_label("Kind").select_option("adjustment")
    expect(rows).to_have_count(1)
    expect(customer).to_have_url("/wallet?kind=adjustment")
    shot(customer, "wallet")

    customer.goto("/billing")
    cycles = customer.locator("#list tbody tr")
    expect(cycles).to_have_count(1)
    expect(cycles.nth(0)).to_contain_text("Initial")
    expect(cycles.nth(0)).to_contain_text("$9.50")
    expect(cycles.nth(0)).to_contain_text("Billed")
    chart = customer.locator("#spend-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator("figcaption")).to_contain_text(": $9.50.")
    shot(customer, "billing-history")

    customer.goto("/plans")
    customer.locator("article", has_text="Growth").get_by_role(
        "link", name="Switch to Growth"
    ).click()
    customer.get_by_role("button", name="Confirm the change").click()
    expect(customer.locator("#flashes")).to_contain_text("Your plan is now Growth")
    expect(customer.get_by_role("heading", name="Subscription")).to_be_visible()
    expect(customer.get_by_test_id("plan-name")).to_have_text("Growth")

    customer.get_by_role("link", name="Cancel subscription").click()
    customer.get_by_label(f"Type {slug} to confirm").fill("not-the-slug")
    customer.locator("form[action='/subscription/cancel']").evaluate("f => f.noValidate = true")
    customer.get_by_role("button", name="Cancel subscription").click()
    expect(customer.locator("#flashes")).to_have_text(
        f"Type the organization's slug, {slug}, to confirm cancelling"
    )
    customer.get_by_label(f"Type {slug} to confirm").fill(slug)
    shot(customer, "cancel")
    customer.get_by_role("button", name="Cancel subscription").click()
    expect(customer.locator("#flashes")).to_contain_text("Subscription cancelled.")
    expect(customer.locator("#flashes")).to_contain_text("1 project(s) and 0 service(s) deleted")
    expect(customer.get_by_text("Not subscribed yet")).to_be_visible()

    customer.goto("/billing")
    expect(customer.locator("#list tbody tr")).to_have_count(2)
    customer.goto("/activity")
    customer.get_by_label("Event type").select_option("container.subscription")
    expect(customer.locator("#list tbody tr").first).to_contain_text("Subscription cancelled")
    shot(customer, "activity")
