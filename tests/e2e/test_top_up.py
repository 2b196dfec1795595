"""A customer who registers on their own gets to a running app without an admin: registration,
billing details, a card top-up on the Stripe stand-in's hosted page, a plan paid from the wallet,
a deployment."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from tests.e2e.helpers import make_admin, register
from tests.serving import Panel, running_panel_with_stripe

Shot = Callable[..., None]


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    """The browser tests' panel, with Stripe payments through the stand-in."""
    with running_panel_with_stripe(settings, easypanel) as running:
        yield running


def _plan(admin: Page) -> None:
    admin.goto("/admin/plans/new")
    for label, value in (
        ("Name", "Hobby"),
        ("Monthly price (USD)", "10.00"),
        ("vCPU cores", "2"),
        ("Memory (GB)", "4"),
        ("Storage (GB)", "20"),
        ("Containers", "3"),
    ):
        admin.get_by_label(label).fill(value)
    admin.get_by_role("button", name="Create plan").click()
    expect(admin.locator("#flashes")).to_contain_text("Plan Hobby created")


def test_register_top_up_subscribe_and_deploy(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    _plan(admin)

    register(customer, "Dana Scully")
    customer.goto("/plans")
    customer.locator("article", has_text="Hobby").get_by_role("link", name="Subscribe").click()
    expect(customer.get_by_role("button", name="Confirm and pay $10.00")).to_be_disabled()
    customer.get_by_test_id("top-up-first").get_by_role("link", name="Top up first").click()
    customer.get_by_role("link", name="Add billing details").click()
    for label, value in (
        ("Legal name", "Dana Scully"),
        ("Address", "935 Pennsylvania Avenue"),
        ("Postal code", "20535"),
        ("City", "Washington"),
        ("Country code", "US"),
    ):
        customer.get_by_label(label, exact=True).fill(value)
    customer.get_by_role("button", name="Save details").click()
    expect(customer).to_have_url(f"{panel.url}/wallet#add-funds")

    customer.get_by_label("Amount (USD)").fill("25.00")
    customer.get_by_role("radio", name="Card (Stripe)").check()
    shot(customer, "wallet-add-funds")
    customer.get_by_role("button", name="Continue to payment").click()
    expect(customer.get_by_test_id("top-up")).to_contain_text("Pending")
    customer.get_by_test_id("pay").click()

    customer.get_by_label("Card number").fill("4000000000000002")
    customer.get_by_role("button", name="Pay 25.00 USD").click()
    expect(customer.get_by_text("Your card was declined.")).to_be_visible()
    customer.get_by_label("Card number").fill("4242424242424242")
    customer.get_by_role("button", name="Pay 25.00 USD").click()
    expect(customer.get_by_test_id("top-up")).to_contain_text("Succeeded")
    expect(customer.get_by_test_id("top-up")).to_contain_text("credited with $25.00")
    shot(customer, "top-up-succeeded")
    customer.goto("/wallet")
    expect(customer.get_by_test_id("wallet-balance")).to_have_text("$25.00")

    customer.goto("/plans")
    customer.locator("article", has_text="Hobby").get_by_role("link", name="Subscribe").click()
    customer.get_by_role("button", name="Confirm and pay $10.00").click()
    expect(customer.locator("#flashes")).to_contain_text("Subscribed to Hobby.")
    customer.goto("/billing")
    invoice = customer.get_by_test_id("invoice-link").first
    expect(invoice).to_contain_text("INV-")
    assert (
        customer.request.get(str(invoice.get_attribute("href")))
        .headers["content-type"]
        .startswith("application/pdf")
    )

    customer.goto("/projects/dana-scully-s-organization/deploy?kind=app")
    customer.get_by_label("Service name").fill("site")
    customer.get_by_label("Image", exact=True).fill("nginx:1.27")
    customer.get_by_role("button", name="Deploy app").click()
    expect(customer.locator("#flashes")).to_have_text(
        "site is being deployed; its status follows below."
    )
    deadline = time.monotonic() + 30
    while True:
        panel.easypanel.controller.advance(5)
        try:
            expect(customer.get_by_test_id("live-status")).to_have_text("Running", timeout=2_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    customer.goto("/wallet")
    expect(customer.get_by_test_id("wallet-balance")).to_have_text("$15.00")
