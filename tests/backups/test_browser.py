"""The Backups card in a real browser (the suite's e2e panel and Chromium): the admin sets up the
storage, the customer backs a database up, sees it done and restores it by typing its name."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from skypanel.standins.s3 import RunningS3, running_s3
from tests.e2e.conftest import browser, new_page, panel
from tests.e2e.helpers import make_admin, register
from tests.e2e.test_projects import _settle, _subscribe
from tests.serving import Panel

__all__ = ["browser", "new_page", "panel"]


@pytest.fixture(scope="module")
def store() -> Iterator[RunningS3]:
    with running_s3() as running:
        yield running


def _until(page: Page, check: Callable[[], None], seconds: float = 20) -> None:
    """Reload until `check` passes: the panel's worker delivers the operations on its own."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def test_a_customer_backs_up_and_restores_a_database(
    new_page: Callable[..., Page], panel: Panel, store: RunningS3
) -> None:
    admin, customer = new_page(), new_page()
    make_admin(panel, admin)
    admin.goto("/admin/backups")
    admin.get_by_label("S3 endpoint").fill(store.endpoint)
    admin.get_by_label("Region").fill(store.region)
    admin.get_by_label("Bucket").fill(store.bucket)
    admin.get_by_label("Access key id").fill(store.access_key_id)
    admin.get_by_label("Secret access key").fill(store.secret_access_key)
    admin.get_by_role("button", name="Save storage").click()
    expect(admin.locator("#flashes")).to_contain_text(f"Backups go to bucket {store.bucket}")

    register(customer, "Ellen Ripley")
    _subscribe(admin, customer)
    customer.goto("/projects")
    customer.get_by_label("Project name").fill("shop")
    customer.get_by_role("button", name="Create project").click()
    customer.goto("/projects/shop/deploy?kind=database")
    customer.get_by_label("Service name").fill("db")
    customer.get_by_role("radio", name="PostgreSQL").check()
    customer.get_by_role("button", name="Deploy database").click()
    _settle(panel, customer, "db", "Running")
    [project] = [
        name for name in panel.easypanel.controller.snapshot()["projects"] if "shop" in name
    ]
    panel.easypanel.controller.set_database_data(project, "db", "orders v1")

    card = customer.get_by_test_id("backups")
    card.get_by_role("button", name="Back up now").click()
    expect(customer.locator("#flashes")).to_contain_text("A backup of db has started.")
    _until(customer, lambda: expect(card.locator("tr[data-backup]")).to_contain_text("Done"))
    panel.easypanel.controller.set_database_data(project, "db", "orders lost")

    row = card.locator("tr[data-backup]")
    row.get_by_placeholder("Type db").fill("db")
    row.get_by_role("button", name="Restore").click()

    expect(customer.locator("#flashes")).to_contain_text("db is being restored from the backup.")
    deadline = time.monotonic() + 20
    while panel.easypanel.controller.database_data(project, "db") != "orders v1":
        assert time.monotonic() < deadline, "the restore never reached Easypanel"
        time.sleep(0.2)
