"""An owner adds a webhook endpoint in the panel: its secret is shown once, a test event is
queued and its delivery listed, the secret rotates, and the endpoint goes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from tests.e2e.helpers import register
from tests.serving import Panel, running_panel

Shot = Callable[..., None]
URL = "http://127.0.0.1:9/hooks"
"""A loopback port nobody listens on: deliveries are attempted and fail, which the page shows."""


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    allowed = settings.model_copy(update={"webhooks_allow_private": True})
    with running_panel(allowed, easypanel) as running:
        yield running


def test_an_owner_manages_an_endpoint(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    owner = new_page()
    register(owner, "John Doggett")
    owner.get_by_role("link", name="Webhooks").click()
    owner.get_by_label("URL").fill(URL)
    owner.get_by_label("Description (optional)").fill("Billing system")
    owner.get_by_role("checkbox", name="subscription.renewed").check()
    owner.get_by_role("button", name="Add the endpoint").click()
    first = owner.get_by_test_id("secret").inner_text()
    assert "whsec_" in first
    endpoint = owner.locator(f"[data-endpoint='{URL}']")
    expect(endpoint).to_contain_text("subscription.renewed")
    shot(owner, "webhooks")

    owner.goto("/webhooks")
    expect(owner.get_by_test_id("secret")).to_have_count(0)
    endpoint.get_by_role("button", name="Send a test event").click()
    expect(owner.locator("#flashes")).to_contain_text("A test event is on its way")
    expect(endpoint.get_by_test_id("deliveries")).to_contain_text("webhook.test")

    endpoint.get_by_role("button", name="Rotate the secret").click()
    second = owner.get_by_test_id("secret").inner_text()
    assert "whsec_" in second
    assert second != first
    owner.locator(f"[data-endpoint='{URL}']").get_by_role("button", name="Remove").click()
    expect(owner.locator("#flashes")).to_contain_text("Endpoint removed")
    expect(owner.locator(f"[data-endpoint='{URL}']")).to_have_count(0)
