"""The admin configures Stripe in the console: a key the provider refuses is not saved, a good
one is, and customers can pay by card from then on."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.standins.stripe import RunningStripe, running_stripe
from tests.e2e.helpers import make_admin
from tests.serving import Panel

Shot = Callable[..., None]


@pytest.fixture(scope="module")
def stripe_standin() -> Iterator[RunningStripe]:
    with running_stripe() as running:
        yield running


def test_admin_configures_stripe_in_the_console(
    new_page: Callable[..., Page], panel: Panel, stripe_standin: RunningStripe, shot: Shot
) -> None:
    admin = new_page()
    make_admin(panel, admin)
    admin.goto("/admin/payments")
    card = admin.locator("[data-gateway='stripe']")
    expect(card).to_contain_text("Not configured")
    card.get_by_label("Secret key").fill("sk_test_unknown")
    card.get_by_label("Webhook signing secret").fill(stripe_standin.webhook_secret)
    card.get_by_label("API address (optional)").fill("http://127.0.0.1:9")
    card.get_by_role("button", name="Save Stripe").click()
    expect(admin.locator("#flashes")).to_contain_text("Stripe refused the key")
    expect(admin.locator("[data-gateway='stripe']")).to_contain_text("Not configured")

    card = admin.locator("[data-gateway='stripe']")
    card.get_by_label("Secret key").fill(stripe_standin.secret_key)
    card.get_by_label("Webhook signing secret").fill(stripe_standin.webhook_secret)
    card.get_by_label("API address (optional)").fill(stripe_standin.base_url)
    card.get_by_role("button", name="Save Stripe").click()
    expect(admin.locator("#flashes")).to_have_text("Stripe payments configured.")
    card = admin.locator("[data-gateway='stripe']")
    expect(card).to_contain_text("Test mode")
    expect(card).to_contain_text("/api/payments/stripe/webhook")
    expect(card.get_by_label("Secret key")).to_have_value("")
    shot(admin, "admin-payments")
    card.get_by_role("button", name="Check the saved configuration").click()
    expect(admin.locator("#flashes")).to_contain_text("Stripe answered")
