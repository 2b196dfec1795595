"""Browser tests: a real panel server (uvicorn on a loopback port) and Debian's Chromium.

The panel runs against the suite's test database with its own connections, so what the tests
create is committed; every table is emptied before and after each module. Both the server and
the browser live for one module: Playwright's sync API runs an event loop in the main thread,
which must be gone before the suite's async tests run. Screenshots of the main
pages go to `test-output/screenshots/`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from tests.serving import Panel, running_panel

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator) -> Iterator[Panel]:
    """The panel served by uvicorn in a thread, with the emulator as its Easypanel server."""
    with running_panel(settings, easypanel) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; `make test` installs it with apt")
        pytest.skip(f"{CHROMIUM} is missing; run `apt-get install -y chromium` or `make test`")
    with sync_playwright() as playwright:
        # Playwright starts the browser with a new, empty temporary profile directory.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""
"""Every page reports what the Content-Security-Policy refused as a console error."""


def _csp_violation(text: str) -> bool:
    return "CSP violation" in text or "Content Security Policy" in text


@pytest.fixture
def new_page(panel: Panel, browser: Browser) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context (its own cookies): one per person in a test.
    A test fails when any page it opened saw the Content-Security-Policy refuse something."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def open_page(width: int = 1280, height: int = 860) -> Page:
        context = browser.new_context(
            base_url=panel.url,
            viewport={"width": width, "height": height},
            reduced_motion="reduce",
        )
        context.set_default_timeout(10_000)
        context.add_init_script(REPORT_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()

        def report(message: ConsoleMessage) -> None:
            if _csp_violation(message.text):
                violations.append(f"{page.url}: {message.text}")

        page.on("console", report)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert violations == [], "Content-Security-Policy violations"


@pytest.fixture(scope="session")
def shot() -> Callable[..., None]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str, full_page: bool = True) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return save
