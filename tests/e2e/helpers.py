"""What the browser tests do again and again: sign up, sign in, make an administrator."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page, expect

from skypanel.demo import ensure_admin
from tests.serving import Panel, run

PASSWORD = "correct horse battery staple"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def register(page: Page, name: str, email: str | None = None) -> str:
    """Sign up through the registration form; returns the email. Lands on the dashboard."""
    email = email or unique_email(name.split()[0].lower())
    page.goto("/register")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name=f"{name}'s organization")).to_be_visible()
    return email


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def make_admin(panel: Panel, page: Page) -> str:
    """A platform administrator (without an organization, as `skypanel create-admin` makes one),
    signed in on the page; returns the email."""
    email = unique_email("admin")
    run(ensure_admin(panel.database_url, email, PASSWORD, "Platform Admin"))
    sign_in(page, email)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    return email


def flash(page: Page) -> str:
    return page.locator("#flashes").inner_text()
