"""Admin console in the browser: branding applied to the layout, users disabled, activity."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import make_admin, register, sign_in
from tests.serving import Panel

Shot = Callable[..., None]


def test_branding_changes_the_layout_for_everyone(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    admin.goto("/admin/settings")
    admin.get_by_label("Panel name").fill("Nimbus Cloud")
    admin.get_by_label("Accent colour").fill("#0f766e")
    admin.get_by_label("Grace period (days)").fill("5")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.locator("#flashes")).to_have_text("Settings saved.")
    expect(admin.get_by_label("Grace period (days)")).to_have_value("5")
    shot(admin, "admin-settings")

    admin.get_by_label("Panel name").fill("")
    admin.locator("form[action='/admin/settings']").evaluate("f => f.noValidate = true")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.locator("#flashes")).to_contain_text("Invalid value for branding")

    customer.goto("/login")
    expect(customer).to_have_title("Sign in · Nimbus Cloud")
    expect(customer.locator(".brand").first).to_have_text("N Nimbus Cloud")
    register(customer, "Ellen Ripley")
    expect(customer.locator(".sidebar .brand")).to_contain_text("Nimbus Cloud")
    accent = customer.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert accent == "#0f766e"
    button = customer.get_by_role("link", name="Choose a plan").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(15, 118, 110)"
    shot(customer, "dashboard-branded")

    admin.goto("/admin/settings")
    admin.get_by_label("Panel name").fill("SkyPanel")
    admin.get_by_label("Accent colour").fill("#2563eb")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.locator("#flashes")).to_have_text("Settings saved.")


def test_admin_disables_a_user_and_sees_it_in_the_activity(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    email = register(customer, "Arthur Dallas")

    admin.goto("/admin/users")
    admin.get_by_label("Search users").fill(email)
    admin.get_by_role("button", name="Search").click()
    row = admin.locator(f"tr[data-user='{email}']")
    expect(admin.locator("#list tbody tr")).to_have_count(1)
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Disable").click()
    expect(admin.locator("#flashes")).to_have_text(f"{email} is now user, disabled.")
    expect(row).to_contain_text("Disabled")

    customer.goto("/wallet")
    expect(customer).to_have_url("/login?next=/wallet")
    sign_in(customer, email)
    expect(customer.locator("#flashes")).to_have_text("Wrong email or password")

    row.get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Make admin").click()
    expect(admin.locator("#flashes")).to_have_text(f"{email} is now admin, active.")
    shot(admin, "admin-users-search")

    admin.goto("/admin/activity")
    admin.get_by_label("Event type").select_option("admin")
    expect(admin).to_have_url("/admin/activity?type=admin")
    expect(admin.locator("#list tbody tr").first).to_contain_text(f"User {email} updated")
    shot(admin, "admin-activity")
