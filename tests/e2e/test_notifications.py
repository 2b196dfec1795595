"""The bell counts what is unread; a notice opens where it points and is read from then on; the
admin's outbox shows the email it queued, and email preferences are saved."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy import select

from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.models import Membership, User
from skypanel.notices import service as notices
from tests.e2e.helpers import make_admin, register
from tests.serving import Panel, run

Shot = Callable[..., None]


async def _renewal_failed(database_url: str, email: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            organization_id = await session.scalar(
                select(Membership.organization_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == email)
            )
            await notices.emit(
                session,
                "subscription.renewal_failed",
                dedupe_key=f"renewal_failed:e2e:{email}",
                organization_id=organization_id,
                data={
                    "plan": "Starter",
                    "amount": "$10.00",
                    "balance": "$1.00",
                    "grace_until": "Dec 4, 2026",
                },
            )
    finally:
        await engine.dispose()


def test_the_bell_the_notifications_page_and_the_outbox(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    customer, admin = new_page(), new_page()
    email = register(customer, "Walter Skinner")
    customer.goto("/notifications")
    if customer.get_by_role("button", name="Mark all read").count():
        customer.get_by_role("button", name="Mark all read").click()
    expect(customer.get_by_test_id("bell-count")).to_have_count(0)
    run(_renewal_failed(panel.database_url, email))
    customer.reload()
    expect(customer.get_by_test_id("bell-count")).to_contain_text("1")
    customer.get_by_role("link", name="Notifications").click()
    listed = customer.get_by_test_id("notifications")
    expect(listed).to_contain_text("Your Starter plan could not be renewed")
    expect(listed).to_contain_text("keep running until Dec 4, 2026")
    shot(customer, "notifications")
    listed.get_by_role("button").first.click()
    expect(customer).to_have_url(f"{panel.url}/wallet#add-funds")
    expect(customer.get_by_test_id("bell-count")).to_have_count(0)

    customer.goto("/notifications")
    customer.get_by_label("Billing: renewals, payments, plan changes").uncheck()
    customer.get_by_role("button", name="Save preferences").click()
    expect(customer.locator("#flashes")).to_have_text("Email preferences saved.")
    expect(customer.get_by_label("Billing: renewals, payments, plan changes")).not_to_be_checked()

    make_admin(panel, admin)
    admin.goto("/admin/outbox")
    outbox = admin.get_by_test_id("outbox")
    expect(outbox).to_contain_text(email)
    expect(outbox).to_contain_text("Your Starter plan could not be renewed")
