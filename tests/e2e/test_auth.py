"""Registration, sign-in errors, lockout, CSRF, sign-out and password changes in the browser."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import PASSWORD, flash, register, sign_in

Shot = Callable[..., None]


def test_register_lands_on_an_empty_dashboard(new_page: Callable[..., Page], shot: Shot) -> None:
    page = new_page()
    page.goto("/")
    expect(page).to_have_url("/login")
    shot(page, "login")
    page.get_by_role("link", name="Create an account").click()
    shot(page, "register")
    register(page, "Dana Scully")
    expect(page.locator("#flashes")).to_contain_text("Welcome, Dana Scully!")
    expect(page.get_by_test_id("balance")).to_have_text("$0.00")
    expect(page.get_by_role("heading", name="Add credit to get started")).to_be_visible()
    expect(page.get_by_text("Not subscribed yet")).to_be_visible()
    shot(page, "dashboard-empty")

    phone = new_page(390, 844)
    sign_in(phone, _email_of(page))
    expect(phone.get_by_role("heading", name="Dana Scully's organization")).to_be_visible()
    expect(phone.locator("#sidebar")).not_to_be_in_viewport()
    shot(phone, "dashboard-phone")
    phone.get_by_role("button", name="Menu").click()
    expect(phone.locator("#sidebar")).to_be_in_viewport(ratio=1)
    shot(phone, "dashboard-phone-menu", full_page=False)


def _email_of(page: Page) -> str:
    return page.locator(".who .meta span").inner_text()


def test_wrong_password_then_lockout_are_explained(new_page: Callable[..., Page]) -> None:
    page = new_page()
    email = register(page, "Fox Mulder")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#flashes")).to_contain_text("You have signed out.")

    sign_in(page, email, "not the password")
    expect(page.locator("#flashes")).to_have_text("Wrong email or password")
    expect(page.get_by_label("Email")).to_have_value(email)
    for _ in range(4):
        sign_in(page, email, "still not it")
    assert "Too many failed sign-in attempts from here; try again later (in about 15 minutes)" in (
        flash(page)
    )
    sign_in(page, email, PASSWORD)
    assert "Too many failed sign-in attempts" in flash(page)
    expect(page).to_have_url("/login")


def test_a_post_without_the_csrf_token_is_refused(new_page: Callable[..., Page]) -> None:
    page = new_page()
    register(page, "Walter Skinner")
    refused = page.request.post("/organization/new", form={"name": "Sneaky"})
    assert refused.status == 403
    assert "security token is missing or wrong" in refused.text()
    forged = page.request.post("/organization/new", form={"name": "Sneaky", "csrf_token": "x" * 64})
    assert forged.status == 403
    page.goto("/organization")
    expect(page.get_by_role("option", name="Sneaky")).to_have_count(0)


def test_sign_out_revokes_the_session_cookie(new_page: Callable[..., Page]) -> None:
    page = new_page()
    register(page, "Monica Reyes")
    stolen = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/login")

    other = new_page()
    other.context.add_cookies(stolen)
    other.goto("/wallet")
    expect(other).to_have_url("/login?next=/wallet")


def test_password_change_ends_the_other_sessions(new_page: Callable[..., Page], shot: Shot) -> None:
    laptop, phone = new_page(), new_page()
    email = register(laptop, "John Doggett")
    sign_in(phone, email)
    expect(phone.get_by_role("heading", name="John Doggett's organization")).to_be_visible()

    laptop.goto("/account")
    laptop.get_by_label("Current password").fill("wrong password!")
    laptop.get_by_label("New password", exact=True).fill("a brand new passphrase")
    laptop.get_by_label("Repeat the new password").fill("a brand new passphrase")
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.locator("#flashes")).to_have_text("The current password is wrong")

    laptop.get_by_label("Current password").fill(PASSWORD)
    laptop.get_by_label("New password", exact=True).fill("a brand new passphrase")
    laptop.get_by_label("Repeat the new password").fill("a brand new passphrase")
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.locator("#flashes")).to_have_text(
        "Password changed. You were signed out everywhere else."
    )
    shot(laptop, "account")
    laptop.goto("/")
    expect(laptop.get_by_role("heading", name="John Doggett's organization")).to_be_visible()
    phone.goto("/")
    expect(phone).to_have_url("/login")
    sign_in(phone, email, "a brand new passphrase")
    expect(phone.get_by_role("heading", name="John Doggett's organization")).to_be_visible()
