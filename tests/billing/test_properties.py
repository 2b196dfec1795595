"""Random sequences of subscribe, renew, top-up (its follow-up sometimes lost), plan change and
cancel over random dates keep the ledger equal to the balance, the balance non-negative, every
period billed once, refunds within what each period paid, the whole grace before a suspension,
and no subscription left unpaid once its wallet can pay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
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

ACTIONS = ["subscribe", "bill", "top_up", "lost_top_up", "change", "cancel"]
DAY = 60 * 24
PAID = "('pending', 'billed', 'refunded')"
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
        # Every period billed once: no two paid cycles of a subscription overlap in their paid
        # service, each paid cycle has exactly its amount debited (an unpaid one nothing), and
        # the refunds of each cycle stay within what it was paid.
        overlapping = await session.scalar(
            text(
                "SELECT count(*) FROM container_billing_cycles a JOIN container_billing_cycles b"
                " ON a.subscription_id = b.subscription_id AND a.id < b.id"
                f" WHERE a.status IN {PAID} AND b.status IN {PAID}"
                " AND tstzrange(a.billing_period_start,"
                "  coalesce(a.effective_end, a.billing_period_end))"
                " && tstzrange(b.billing_period_start,"
                "  coalesce(b.effective_end, b.billing_period_end))"
                " AND a.organization_id = :org"
            ),
            {"org": org},
        )
        misbilled = (
            await session.execute(
                text(
                    "SELECT c.id, c.status, c.amount_cents, c.refunded_cents, l.debits, l.paid,"
                    " l.refunded FROM container_billing_cycles c CROSS JOIN LATERAL ("
                    "  SELECT count(*) FILTER (WHERE kind = 'debit') AS debits,"
                    "  coalesce(-sum(amount_cents) FILTER (WHERE kind = 'debit'), 0) AS paid,"
                    "  coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0) AS refunded"
                    "  FROM payment_transactions p WHERE p.reference_type = 'billing_cycle'"
                    "  AND p.reference_id = c.id) l"
                    " WHERE c.organization_id = :org AND ("
                    f"  l.paid <> CASE WHEN c.status IN {PAID} THEN c.amount_cents ELSE 0 END"
                    "  OR l.debits > 1 OR l.refunded <> c.refunded_cents OR l.refunded > l.paid)"
                ),
                {"org": org},
            )
        ).all()
        # The whole grace period between a failed renewal and the suspension that follows it.
        hasty = await session.scalar(
            text(
                "SELECT count(*) FROM activity_logs s WHERE s.organization_id = :org"
                " AND s.event_type = 'container.subscription.suspend'"
                " AND s.created_at < (SELECT max(f.created_at) FROM activity_logs f"
                "  WHERE f.organization_id = :org AND f.event_type = 'container.billing.failed'"
                "  AND f.created_at <= s.created_at) + interval '3 days'"
            ),
            {"org": org},
        )
    current, ledger, paid, refunded, over_refunded = row
    assert current == ledger
    assert current >= 0
    assert refunded <= paid
    assert over_refunded == 0
    assert overlapping == 0
    assert misbilled == []
    assert hasty == 0


async def _recovered(db: async_sessionmaker[AsyncSession], org: uuid.UUID, at: datetime) -> None:
    """After a billing run, a subscription whose wallet can pay its plan is in good standing
    (one suspended by this very run waits for the next)."""
    async with db() as session:
        stuck = await session.scalar(
            text(
                "SELECT count(*) FROM container_subscriptions s"
                " JOIN container_plans p ON p.id = s.plan_id"
                " JOIN wallets w ON w.organization_id = s.organization_id"
                " WHERE s.organization_id = :org AND s.status IN ('past_due', 'suspended')"
                " AND w.balance_cents >= p.price_monthly_cents"
                " AND (s.suspended_at IS NULL OR s.suspended_at < :at)"
            ),
            {"org": org, "at": at},
        )
    assert stuck == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
# The double payment: the renewal fails, a partial credit, a change to a cheaper plan,
# then a credit that (before) paid the failed renewal in full on top of the new plan.
@example(
    sequence=[("top_up", 0, 2599), ("subscribe", 0, 1), ("bill", 28 * DAY, 0),
              ("top_up", 60, 1100), ("change", 60, 0), ("top_up", 60, 2599), ("bill", 60, 0)]
)  # fmt: skip
# A run five days late fails the renewal: the services still get their three days.
@example(sequence=[("top_up", 0, 999), ("subscribe", 0, 0), ("bill", 33 * DAY, 0)])
# A credit whose follow-up was lost: the next run resumes the subscription.
@example(
    sequence=[("top_up", 0, 999), ("subscribe", 0, 0), ("bill", 28 * DAY, 0),
              ("bill", 4 * DAY, 0), ("lost_top_up", 60, 999), ("bill", 60, 0)]
)  # fmt: skip
# Two plan changes at the very moment of subscribing.
@example(sequence=[("top_up", 0, 4000), ("subscribe", 0, 0), ("change", 0, 1), ("change", 0, 0)])
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
                    elif action in ("top_up", "lost_top_up"):
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
                await _recovered(db, organization.id, at)
            if action == "top_up":
                await billing.after_credit(db, organization.id)
        await _invariants(db, organization.id)
