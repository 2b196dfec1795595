"""The pages work under the Content-Security-Policy (the `new_page` fixture fails a test on any
violation), and another site cannot frame the one-click buttons (clickjacking)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import register
from tests.serving import Panel

MAIN_PAGES = ("/", "/projects", "/plans", "/wallet", "/billing", "/organization", "/activity")


def test_main_pages_load_without_violations(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    register(page, "Policy Tester")
    for path in MAIN_PAGES:
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
    page.goto("/docs")
    expect(page.locator(".swagger-ui")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()


def test_a_swap_never_writes_a_style_attribute(new_page: Callable[..., Page]) -> None:
    """An element the page styled through the CSSOM (bar widths, a textarea the user resized)
    keeps its `style` attribute; when htmx swaps in a new element of the same id it settles the
    old attributes onto it, and writing `style` that way is inline style the policy refuses
    (seen in CI on the service page)."""
    page = new_page()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.evaluate(
        """() => {
          const probe = document.createElement("div");
          probe.id = "probe";
          probe.style.width = "40%";
          document.querySelector("main").append(probe);
          htmx.swap("#probe", '<div id="probe">swapped</div>', {swapStyle: "outerHTML"});
        }"""
    )
    expect(page.locator("#probe")).to_have_text("swapped")
    page.wait_for_timeout(200)  # past htmx's settle delay (20 ms), when it restores attributes


def test_the_panel_cannot_be_framed(panel: Panel, browser: Browser) -> None:
    """Its own context: the refused frame is the violation this test expects."""
    context = browser.new_context()
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text))
        page.goto(f"{panel.url}/login")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.set_content(f'<iframe id="victim" src="{panel.url}/login"></iframe>')
        page.wait_for_timeout(1000)
        expect(page.frame_locator("#victim").get_by_role("button", name="Sign in")).to_have_count(0)
        assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in refused)
    finally:
        context.close()
