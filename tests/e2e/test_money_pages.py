"""The money pages in a browser: a card kept for auto-recharge, the documents and their PDF,
the billing details, an admin's partial refund, and the dashboard's low-balance notice."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from tests.e2e.helpers import make_admin, register
from tests.serving import Panel, running_panel_with_stripe

Shot = Callable[..., None]
ORGANIZATION = "Fox Mulder's organization"


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    """The browser tests' panel, with Stripe payments through the stand-in."""
    with running_panel_with_stripe(settings, easypanel) as running:
        yield running


def _top_up_keeping_the_card(customer: Page, amount: str) -> None:
    customer.goto("/wallet")
    customer.get_by_label("Amount (USD)").fill(amount)
    customer.get_by_role("radio", name="Card (Stripe)").check()
    customer.get_by_label("Keep the card for auto-recharge").check()
    customer.get_by_role("button", name="Continue to payment").click()
    customer.get_by_test_id("pay").click()
    customer.get_by_label("Card number").fill("4242424242424242")
    customer.get_by_role("button", name=f"Pay {amount} USD").click()
    expect(customer.get_by_test_id("top-up")).to_contain_text("Succeeded")


def _plan(admin: Page, price: str) -> None:
    admin.goto("/admin/plans/new")
    for label, value in (
        ("Name", "Hobby"),
        ("Monthly price (USD)", price),
        ("vCPU cores", "2"),
        ("Memory (GB)", "4"),
        ("Storage (GB)", "20"),
        ("Containers", "3"),
    ):
        admin.get_by_label(label).fill(value)
    admin.get_by_role("button", name="Create plan").click()
    expect(admin.locator("#flashes")).to_contain_text("Plan Hobby created")


def _billing_details(customer: Page, panel: Panel, shot: Shot) -> None:
    """An invalid VAT number is refused in words, with what was typed kept; once saved, the
    customer is back at adding funds."""
    expect(customer.get_by_role("heading", name="Billing details")).to_be_visible()
    for label, value in (
        ("Legal name", "Mulder Investigations GmbH"),
        ("Address", "Unter den Linden 1"),
        ("Postal code", "10117"),
        ("City", "Berlin"),
        ("Country code", "DE"),
        ("VAT number (optional)", "DE123"),
    ):
        customer.get_by_label(label, exact=True).fill(value)
    customer.get_by_role("button", name="Save details").click()
    expect(customer.locator("#flashes")).to_have_text("Vat number: is not a valid VAT number of DE")
    expect(customer.get_by_label("Legal name")).to_have_value("Mulder Investigations GmbH")
    shot(customer, "billing-details-refused")
    customer.get_by_label("VAT number (optional)").fill("DE 136 695 976")
    customer.get_by_label("We buy as a business").check()
    customer.get_by_role("button", name="Save details").click()
    expect(customer.locator("#flashes")).to_have_text(
        "Billing details saved. Documents issued from now on carry them."
    )
    expect(customer).to_have_url(f"{panel.url}/wallet#add-funds")
    customer.get_by_role("link", name="Your details on invoices").click()
    expect(customer.get_by_label("VAT number (optional)")).to_have_value("DE136695976")
    expect(customer.get_by_label("We buy as a business")).to_be_checked()
    customer.goto("/wallet")


def test_card_auto_recharge_documents_and_refund(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    customer, admin = new_page(), new_page()
    register(customer, "Fox Mulder")

    customer.goto("/wallet")
    expect(customer.get_by_test_id("profile-needed")).to_contain_text("before the first payment")
    customer.get_by_role("link", name="Add billing details").click()
    _billing_details(customer, panel, shot)
    recharge = customer.get_by_test_id("auto-recharge")
    expect(recharge.get_by_test_id("saved-card")).to_contain_text("No card is saved")
    customer.get_by_label("Recharge automatically").check()
    customer.get_by_role("button", name="Save auto-recharge").click()
    expect(customer.locator("#flashes")).to_contain_text("Save a card first")

    _top_up_keeping_the_card(customer, "30.00")
    customer.goto("/wallet")
    expect(customer.get_by_test_id("wallet-balance")).to_have_text("$30.00")
    expect(recharge.get_by_test_id("saved-card")).to_have_text("A card is saved for auto-recharge.")
    recent = customer.get_by_test_id("recent-top-ups")
    expect(recent.get_by_role("row").nth(1)).to_contain_text("$30.00")
    expect(recent.get_by_role("row").nth(1)).to_contain_text("Succeeded")

    customer.get_by_label("Recharge automatically").check()
    customer.get_by_label("When the balance falls below (USD)").fill("2.00")
    customer.get_by_label("Amount to add (USD)").fill("20.00")
    customer.get_by_role("button", name="Save auto-recharge").click()
    expect(customer.locator("#flashes")).to_have_text(
        "Auto-recharge is on: when the balance falls below $2.00, the saved card is charged $20.00."
    )
    expect(recharge.get_by_test_id("auto-recharge-status")).to_have_text("On")
    expect(recharge.get_by_test_id("auto-recharge-rule")).to_contain_text(
        "When the balance falls below $2.00, the saved card is charged $20.00."
    )
    expect(customer.get_by_label("Amount to add (USD)")).to_have_value("20.00")
    shot(customer, "wallet-auto-recharge")

    customer.get_by_role("link", name="Documents").first.click()
    expect(customer.get_by_role("heading", name="Documents", level=1)).to_be_visible()
    receipt = customer.locator("tr[data-document]").first
    expect(receipt).to_contain_text("Receipt")
    expect(receipt).to_contain_text("$30.00")
    shot(customer, "documents")
    pdf = customer.request.get(receipt.get_by_role("link", name="PDF").get_attribute("href") or "")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    csv = customer.request.get(customer.get_by_test_id("export-csv").get_attribute("href") or "")
    assert csv.status == 200
    assert csv.headers["content-type"].startswith("text/csv")
    number = receipt.locator("td").first.inner_text()
    assert number in csv.text()

    make_admin(panel, admin)
    admin.get_by_role("link", name="Top-ups").click()
    admin.get_by_label("Flagged").select_option("yes")
    admin.get_by_role("button", name="Filter").click()
    expect(admin.get_by_text("No top-up matches these filters.")).to_be_visible()
    admin.get_by_label("Status").select_option("succeeded")
    admin.get_by_label("Provider").select_option("stripe")
    admin.get_by_label("Flagged").select_option("no")
    admin.get_by_role("button", name="Filter").click()
    row = admin.locator("tr[data-top-up]", has_text=ORGANIZATION)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("$30.00")
    row.get_by_label("Amount to refund").fill("40.00")
    row.get_by_label("Reason for the refund").fill("Asked for part of it back")
    row.get_by_role("button", name="Refund").click()
    expect(admin.locator("#flashes")).to_contain_text(
        "At most 30.00 USD of this top-up is unspent and can be refunded"
    )
    expect(admin.get_by_label("Status")).to_have_value("succeeded")
    row.get_by_label("Amount to refund").fill("10.00")
    row.get_by_label("Reason for the refund").fill("Asked for part of it back")
    row.get_by_role("button", name="Refund").click()
    expect(admin.locator("#flashes")).to_contain_text("$10.00")
    expect(row.locator("td").nth(4)).to_have_text("$10.00")
    shot(admin, "admin-top-ups")

    customer.goto("/wallet")
    expect(customer.get_by_test_id("wallet-balance")).to_have_text("$20.00")
    expect(customer.locator("#list tbody tr").first).to_contain_text("-$10.00")

    _plan(admin, "15.00")
    customer.goto("/plans")
    customer.locator("article", has_text="Hobby").get_by_role("link", name="Subscribe").click()
    customer.get_by_role("button", name="Confirm and pay $15.00").click()
    expect(customer.locator("#flashes")).to_contain_text("Subscribed to Hobby.")
    customer.goto("/")
    notice = customer.get_by_test_id("low-balance")
    expect(notice).to_contain_text("The wallet holds $5.00, less than the next renewal's $15.00")
    notice.get_by_role("link", name="Add funds").click()
    expect(customer).to_have_url(f"{panel.url}/wallet#add-funds")
