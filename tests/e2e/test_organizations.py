"""Organizations in the browser: create one, switch between them, manage members."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import register

Shot = Callable[..., None]


def test_switch_organizations_and_manage_members(new_page: Callable[..., Page], shot: Shot) -> None:
    owner, colleague = new_page(), new_page()
    colleague_email = register(colleague, "Rick Deckard")
    register(owner, "Rachael Tyrell")

    owner.goto("/organization")
    owner.get_by_label("Name").fill("Tyrell Corporation")
    owner.get_by_role("button", name="Create organization").click()
    expect(owner.locator("#flashes")).to_have_text(
        "Organization Tyrell Corporation created; you are working in it now."
    )
    expect(owner.get_by_role("heading", name="Tyrell Corporation")).to_be_visible()
    switcher = owner.get_by_label("Organization", exact=True)
    expect(switcher.locator("option:checked")).to_have_text("Tyrell Corporation")

    owner.get_by_label("Email of an existing account").fill("nobody@example.com")
    owner.get_by_role("button", name="Add member").click()
    expect(owner.locator("#flashes")).to_have_text("No account with this email")
    owner.get_by_label("Email of an existing account").fill(colleague_email)
    owner.get_by_label("Role", exact=True).select_option("member")
    owner.get_by_role("button", name="Add member").click()
    expect(owner.locator("#flashes")).to_have_text(
        f"Rick Deckard ({colleague_email}) joined as member."
    )
    row = owner.locator(f"tr[data-member='{colleague_email}']")
    row.get_by_label(f"Role of {colleague_email}").select_option("admin")
    expect(owner.locator("#flashes")).to_have_text("Role changed to admin.")
    expect(row.get_by_label(f"Role of {colleague_email}")).to_have_value("admin")
    shot(owner, "organization-members")

    colleague.goto("/")
    colleague.get_by_label("Organization", exact=True).select_option(label="Tyrell Corporation")
    expect(colleague.locator("#flashes")).to_have_text("You are now working in Tyrell Corporation.")
    expect(colleague.get_by_role("heading", name="Tyrell Corporation")).to_be_visible()
    expect(colleague.get_by_text("Admin", exact=True).first).to_be_visible()

    row.get_by_role("button", name="Make owner").click()
    expect(owner.locator("#flashes")).to_have_text(
        "Ownership transferred; you are now an admin of the organization."
    )
    expect(row).to_contain_text("Owner")
    expect(owner.get_by_role("button", name="Make owner")).to_have_count(0)

    owner.get_by_role("button", name="Leave").click()
    expect(owner.locator("#flashes")).to_have_text("You left Tyrell Corporation.")
    expect(owner.get_by_role("heading", name="Rachael Tyrell's organization")).to_be_visible()
    expect(owner.get_by_label("Organization", exact=True).locator("option")).to_have_count(1)

    owner.goto("/")
    owner.get_by_label("Organization", exact=True).evaluate(
        "s => { s.options[0].value = '00000000-0000-0000-0000-000000000000'; }"
    )
    owner.get_by_label("Organization", exact=True).dispatch_event("change")
    expect(owner.locator("#flashes")).to_have_text("Organization not found")
    expect(owner.get_by_role("heading", name="Rachael Tyrell's organization")).to_be_visible()
