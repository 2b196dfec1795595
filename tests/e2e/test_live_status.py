"""The status a customer watches in the browser, in real time: a healthy deploy goes deploying,
starting, running and never shows crash-looping; Stop shows stopping, then stopped, without a
reload, on the service page and the project page; the dashboard follows a start. The emulator's
clock runs on its own here and starts settle for three seconds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.config import Settings
from skypanel.emulator import running_emulator
from tests.e2e.helpers import make_admin, register
from tests.e2e.test_projects import _subscribe
from tests.serving import Panel, running_panel

WATCH = """() => {
  window.__seen = [];
  const note = () => {
    const shown = document.querySelector('[data-testid=live-status]');
    const text = shown ? shown.textContent.trim() : '';
    if (text && window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
  };
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true});
}"""


@pytest.fixture(scope="module")
def panel(settings: Settings) -> Iterator[Panel]:
    timed = settings.model_copy(update={"service_settle_seconds": 3.0})
    with (
        running_emulator(dialect="orpc", deploy_delay=2.0) as easypanel,
        running_panel(timed, easypanel) as running,
    ):
        yield running


def _seen(page: Page) -> list[str]:
    seen: list[str] = page.evaluate("window.__seen")
    return seen


def test_deploy_and_stop_are_followed_without_a_reload(
    new_page: Callable[..., Page], panel: Panel, shot: Callable[..., None]
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
    customer.evaluate(WATCH)

    expect(customer.get_by_test_id("live-status")).to_have_text("Running", timeout=20_000)
    deployed = _seen(customer)
    assert "Crash-looping" not in deployed
    assert deployed[-2:] == ["Starting", "Running"]
    assert set(deployed) <= {"Creating", "Deploying", "Starting", "Running"}
    expect(customer.get_by_test_id("status-message")).to_have_text("Running.")
    shot(customer, "service-running")

    customer.get_by_role("button", name="Stop", exact=True).click()
    expect(customer.locator("#flashes")).to_have_text("web is stopping.")
    customer.evaluate(WATCH)
    expect(customer.get_by_test_id("live-status")).to_have_text("Stopped", timeout=10_000)
    stopped = _seen(customer)
    customer.goto("/projects/shop")
    row = customer.locator("tr[data-service='web']")
    expect(row).to_have_attribute("data-status", "stopped")
    row.get_by_role("button", name="Start", exact=True).click()
    # The row is replaced once the start is recorded; leaving before could cancel the request.
    expect(row).to_have_attribute("data-status", re.compile("starting|running"))
    customer.goto("/")
    services = customer.locator("tr[data-project='shop']").get_by_test_id("project-services")
    expect(services).to_have_text("1 running", timeout=10_000)

    assert stopped[-1] == "Stopped"
    assert set(stopped) <= {"Stopping", "Stopped"}
