"""The emailed links in the browser: a forgotten password reset, an address confirmed, and an
invitation accepted by someone new. A real SMTP server on loopback receives what the served
panel sends on its own after each commit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from tests.e2e.helpers import PASSWORD, register, sign_in, unique_email
from tests.mailbox import Mailbox, running_mailbox
from tests.serving import Panel, running_panel

Shot = Callable[..., None]
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator, mailbox: Mailbox) -> Iterator[Panel]:
    configured = settings.model_copy(update={"smtp_url": SecretStr(mailbox.url)})
    with running_panel(configured, easypanel) as running:
        yield running


def link(mailbox: Mailbox, address: str, subject: str, path: str) -> str:
    """The path of the link to `path` in the message titled `subject` to `address`, once the
    panel has sent it."""
    deadline = time.monotonic() + 15
    while not (titled := [m for m in mailbox.to(address) if m["Subject"] == subject]):
        assert time.monotonic() < deadline, f"no {subject!r} to {address}: {mailbox.to(address)}"
        time.sleep(0.05)
    found = re.search(rf"{re.escape(path)}\?token=[A-Za-z0-9_-]+", Mailbox.text(titled[-1]))
    assert found is not None, Mailbox.text(titled[-1])
    return found.group()


def test_a_forgotten_password_is_reset_from_the_emailed_link(
    new_page: Callable[..., Page], mailbox: Mailbox, shot: Shot
) -> None:
    page = new_page()
    email = register(page, "Walter Skinner")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url("/forgot-password")
    page.get_by_label("Email").fill(email)
    shot(page, "forgot-password")
    page.get_by_role("button", name="Email me a link").click()
    expect(page).to_have_url("/login")
    expect(page.locator("#flashes")).to_have_text(
        "If an account uses this address, a link to choose a new password is on its way."
    )

    reset = link(mailbox, email, "Reset your password", "/reset-password")
    page.goto(reset)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    shot(page, "reset-password")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.locator("#flashes")).to_contain_text("Password changed; every sign-in ended.")
    expect(page.get_by_label("Email")).to_have_value(email)

    sign_in(page, email, PASSWORD)
    expect(page.locator("#flashes")).to_have_text("Wrong email or password")
    sign_in(page, email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Walter Skinner's organization")).to_be_visible()

    again = new_page()
    again.goto(reset)
    again.get_by_label("New password", exact=True).fill("one more passphrase")
    again.get_by_label("Repeat the new password").fill("one more passphrase")
    again.get_by_role("button", name="Save the new password").click()
    expect(again.locator("#flashes")).to_have_text("This link was already used; ask for a new one")


def test_the_address_is_confirmed_from_the_emailed_link(
    new_page: Callable[..., Page], mailbox: Mailbox, shot: Shot
) -> None:
    page = new_page()
    email = register(page, "Monica Reyes")
    confirm = link(mailbox, email, "Confirm your email address", "/verify-email")
    page.goto(confirm)
    shot(page, "verify-email")
    page.get_by_role("button", name="Confirm the address").click()
    expect(page.locator("#flashes")).to_have_text(
        f"{email} is confirmed: you can add funds and deploy."
    )
    expect(page.get_by_role("heading", name="Monica Reyes's organization")).to_be_visible()


def test_someone_new_accepts_an_invitation_and_joins(
    new_page: Callable[..., Page], mailbox: Mailbox, shot: Shot
) -> None:
    owner = new_page()
    register(owner, "John Doggett")
    owner.goto("/organization")
    invited = unique_email("gibson")
    owner.get_by_label("Email to invite").fill(invited)
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.locator("#flashes")).to_have_text(f"Invitation sent to {invited}.")
    expect(owner.locator(f'tr[data-invitation="{invited}"]')).to_contain_text("Member")
    shot(owner, "organization-invitations")

    accept = link(
        mailbox,
        invited,
        "John Doggett invited you to John Doggett's organization",
        "/invitations/accept",
    )
    guest = new_page()
    guest.goto(accept)
    expect(guest.get_by_role("heading", name="Join John Doggett's organization")).to_be_visible()
    expect(guest.get_by_label("Email")).to_have_value(invited)
    guest.get_by_label("Your name").fill("Gibson Praise")
    guest.get_by_label("Password").fill(PASSWORD)
    shot(guest, "invitation-accept")
    guest.get_by_role("button", name="Create account and join").click()
    expect(guest.locator("#flashes")).to_have_text(
        "Welcome, Gibson Praise! You joined John Doggett's organization."
    )
    expect(guest.locator(f'tr[data-member="{invited}"]')).to_contain_text("Member")

    owner.reload()
    expect(owner.locator(f'tr[data-member="{invited}"]')).to_be_visible()
    expect(owner.get_by_text("No invitation is waiting for an answer")).to_be_visible()


def test_the_account_page_resends_the_link_and_changes_the_address(
    new_page: Callable[..., Page], mailbox: Mailbox
) -> None:
    page = new_page()
    email = register(page, "Monica Reyes")
    page.goto("/account")
    expect(page.get_by_test_id("email-state")).to_contain_text("Not confirmed")
    page.get_by_role("button", name="Send the link again").click()
    expect(page.locator("#flashes")).to_have_text(
        f"A new confirmation link is on its way to {email}."
    )
    page.get_by_label("New email").fill("monica.reyes@example.org")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.locator("#flashes")).to_have_text(
        "Follow the link sent to monica.reyes@example.org to confirm it."
    )
    page.goto(
        link(mailbox, "monica.reyes@example.org", "Confirm your new email address", "/verify-email")
    )
    page.get_by_role("button", name="Confirm the address").click()
    page.goto("/account")
    expect(page.get_by_test_id("email-state")).to_contain_text("monica.reyes@example.org")
    expect(page.get_by_test_id("email-state")).to_contain_text("Confirmed")
