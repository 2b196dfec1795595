"""The Deployments card in a real browser: a redeploy on a new tag shows its log live, polled
until Easypanel's deploy ends, and the history names it. The emulator's clock runs on its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.config import Settings
from skypanel.emulator import running_emulator
from tests.e2e.helpers import make_admin, register
from tests.e2e.test_projects import _subscribe
from tests.serving import Panel, running_panel


@pytest.fixture(scope="module")
def panel(settings: Settings) -> Iterator[Panel]:
    with (
        running_emulator(dialect="orpc", deploy_delay=2.0) as easypanel,
        running_panel(settings, easypanel) as running,
    ):
        yield running


def test_a_redeploy_on_a_new_tag_streams_its_log_until_it_ends(
    new_page: Callable[..., Page], panel: Panel
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    register(customer, "Ellen Ripley")
    _subscribe(admin, customer)
    customer.goto("/projects")
    customer.get_by_label("Project name").fill("shop")
    customer.get_by_role("button", name="Create project").click()
    customer.goto("/projects/shop/deploy?kind=app")
    customer.get_by_label("Service name").fill("web")
    customer.get_by_label("Image", exact=True).fill("nginx:1.27")
    customer.get_by_role("button", name="Deploy app").click()
    expect(customer.locator("#flashes")).to_contain_text("web is being deployed")

    card = customer.get_by_test_id("deployments")
    expect(card.locator("tr[data-trigger='create']")).to_be_visible()
    # A redeploy is refused while the service is still being created: wait until it is not.
    live = customer.locator("#live-status")
    expect(live).not_to_have_attribute("data-status", "creating", timeout=15_000)
    card.get_by_label("New image (optional)").fill("nginx:1.28")
    card.get_by_role("button", name="Redeploy").click()
    expect(customer.locator("#flashes")).to_contain_text("web is being deployed on nginx:1.28")
    log = customer.get_by_test_id("deploy-log")
    expect(log).to_contain_text("Pulling nginx:1.28", timeout=10_000)
    expect(log).to_contain_text("Done.", timeout=15_000)

    expect(card.locator("tr[data-trigger='image']")).to_contain_text("nginx:1.28")
    # The end of the followed deploy reloads the card: its history says so without a reload.
    expect(card.locator("tr[data-trigger='image']")).to_contain_text("Done", timeout=10_000)
    expect(card.get_by_role("heading", name="Deploying now")).to_have_count(0)
