"""Random sequences of subscribe, renew, top-up, plan change and cancel over random dates keep
the ledger equal to the balance, the balance non-negative, and refunds within payments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.accounts.service import create_user
from skypanel.billing import service as billing
from skypanel.config import Settings
from skypanel.kit.errors import AppError
from skypanel.models import EasypanelServer
from skypanel.organizations import repository as orgs
from skypanel.organizations.context import OrgContext
from skypanel.organizations.service import create_organization
from skypanel.subscriptions import cancellation
from skypanel.subscriptions import service as subscriptions
from skypanel.wallet import service as wallet
from tests.support import clock_at, make_plan

ACTIONS = ["subscribe", "bill", "top_up", "change", "cancel"]
steps = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(min_value=0, max_value=60 * 24 * 45),
        st.integers(min_value=1, max_value=4000),
    ),
    min_size=1,
    max_size=14,
)


async def _invariants(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> None:
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT w.balance_cents,"
                    " (SELECT coalesce(sum(amount_cents), 0) FROM payment_transactions p"
                    "  WHERE p.organization_id = w.organization_id),"
                    " (SELECT coalesce(sum(-amount_cents), 0) FROM payment_transactions p"
                    "  WHERE p.organization_id = w.organization_id AND kind = 'debit'),"
                    " (SELECT coalesce(sum(amount_cents), 0) FROM payment_transactions p"
                    "  WHERE p.organization_id = w.organization_id AND kind = 'refund'),"
                    " (SELECT count(*) FROM container_billing_cycles c"
                    "  WHERE c.organization_id = w.organization_id"
                    "  AND c.refunded_cents > c.amount_cents)"
                    " FROM wallets w WHERE w.organization_id = :org"
                ),
                {"org": org},
            )
        ).one()
    current, ledger, paid, refunded, over_refunded = row
    assert current == ledger
    assert current >= 0
    assert refunded <= paid
    assert over_refunded == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
async def test_random_billing_histories_keep_the_money_right(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    server: EasypanelServer,
    sequence: list[tuple[str, int, int]],
) -> None:
    at = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    async with db() as session:
        user = await create_user(
            session, email=f"p-{uuid.uuid4().hex[:10]}@example.com", password="x" * 12, name="P"
        )
        organization = await create_organization(session, user, f"Prop {uuid.uuid4().hex[:8]}")
        await session.commit()
    cheap = await make_plan(db, price_cents=999, name="Cheap")
    dear = await make_plan(db, price_cents=2599, name="Dear")
    plans = [cheap, dear]
    for action, minutes, amount in sequence:
        at += timedelta(minutes=minutes)
        with clock_at(lambda when=at: when):
            async with db() as session:
                found = await orgs.membership(session, organization.id, user.id)
                assert found is not None
                ctx = OrgContext(organization=found[0], membership=found[1], user=user)
                try:
                    if action == "subscribe":
                        await subscriptions.subscribe(session, settings, ctx, plans[amount % 2])
                    elif action == "top_up":
                        await wallet.post(
                            session,
                            organization.id,
                            kind="credit",
                            amount_cents=amount,
                            description="Top-up",
                            idempotency_key=f"top-{uuid.uuid4()}",
                        )
                    elif action == "change":
                        await subscriptions.change_plan(session, ctx, plans[amount % 2])
                    elif action == "cancel":
                        await cancellation.cancel(session, ctx, organization.slug)
                    await session.commit()
                except AppError:
                    await session.rollback()
            if action == "bill":
                await billing.run(db, batch=10)
            if action == "top_up":
                await billing.after_credit(db, organization.id)
        await _invariants(db, organization.id)
