"""Auto-recharge: "when the balance falls below X, top up Y" with the card saved at a top-up.

The worker runs it every minute. A recharge fires at most once per threshold crossing: claiming
it disarms it in one statement (two workers cannot both claim it), and it arms again only when
the balance is back at or above the threshold with no recharge in flight. The claim commits
with the pending top-up before the card is charged, and the charge is idempotent on the top-up,
so a crash in between leads to one charge when the next run asks again. A refused card is
recorded (`last_error`) and not retried until the next crossing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.errors import Conflict
from skypanel.kit.money import CURRENCY
from skypanel.models import AutoRecharge, TopUp, Wallet
from skypanel.payments import service
from skypanel.payments.gateways import Gateways
from skypanel.payments.providers import automatic_checkout

RETRY_AFTER = timedelta(minutes=2)
"""An automatic top-up still pending after this was left by a worker that stopped."""


class NoSavedCard(Conflict):
    code = "NO_SAVED_CARD"


@dataclass
class RechargeReport:
    charged: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


async def configure(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    enabled: bool,
    threshold_cents: int,
    amount_cents: int,
) -> AutoRecharge:
    """Save the customer's rule (armed afresh); enabling it needs a saved card."""
    await service.check_amount(session, amount_cents)
    rule = await session.get(AutoRecharge, organization_id, with_for_update=True)
    if rule is None:
        rule = AutoRecharge(organization_id=organization_id)
        session.add(rule)
    if enabled and not rule.stripe_customer_id:
        raise NoSavedCard(
            'Save a card first: top up by card with "Keep the card" ticked', field="enabled"
        )
    rule.enabled, rule.threshold_cents, rule.amount_cents = enabled, threshold_cents, amount_cents
    rule.armed, rule.last_error = True, None
    await session.flush()
    return rule


async def forget_card(session: AsyncSession, organization_id: uuid.UUID) -> None:
    rule = await session.get(AutoRecharge, organization_id, with_for_update=True)
    if rule is not None:
        rule.enabled, rule.stripe_customer_id = False, None


async def run(sessions: async_sessionmaker[AsyncSession], gateways: Gateways) -> RechargeReport:
    """Arm what crossed back up, claim and charge what fell below, ask again for what a stopped
    worker left pending."""
    report = RechargeReport()
    async with transaction(sessions) as session:
        if "stripe" not in await gateways.providers(session):
            return report
        stripe = await gateways.stripe(session)
        await _arm(session)
        claimed = await _claim(session)
        claimed += await _stale(session)
    for top_up_id, organization_id, customer, amount in claimed:
        note = await stripe.charge_saved(customer, amount, CURRENCY, top_up_id=top_up_id)
        async with transaction(sessions) as session:
            applied = await service.settle(session, note)
            await session.execute(
                update(AutoRecharge)
                .where(AutoRecharge.organization_id == organization_id)
                .values(last_error=None if note.outcome == "paid" else note.reason)
            )
            service.settle_after_commit(session, sessions, applied)
        (report.charged if note.outcome == "paid" else report.failed).append(top_up_id)
    return report


_IN_FLIGHT = exists().where(
    TopUp.organization_id == AutoRecharge.organization_id,
    TopUp.automatic.is_(True),
    TopUp.status == "pending",
)


async def _arm(session: AsyncSession) -> None:
    await session.execute(
        update(AutoRecharge)
        .where(
            AutoRecharge.armed.is_(False),
            Wallet.organization_id == AutoRecharge.organization_id,
            Wallet.balance_cents >= AutoRecharge.threshold_cents,
            ~_IN_FLIGHT,
        )
        .values(armed=True)
    )


async def _claim(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
    due = (
        await session.execute(
            update(AutoRecharge)
            .where(
                AutoRecharge.enabled.is_(True),
                AutoRecharge.armed.is_(True),
                AutoRecharge.stripe_customer_id.is_not(None),
                Wallet.organization_id == AutoRecharge.organization_id,
                Wallet.balance_cents < AutoRecharge.threshold_cents,
            )
            .values(armed=False, last_attempt_at=clock.now())
            .returning(
                AutoRecharge.organization_id,
                AutoRecharge.stripe_customer_id,
                AutoRecharge.amount_cents,
            )
        )
    ).all()
    claimed = []
    for organization_id, customer, amount in due:
        top_up_id = uuid.uuid4()
        session.add(
            TopUp(
                id=top_up_id,
                organization_id=organization_id,
                provider="stripe",
                status="pending",
                amount_cents=amount,
                currency=CURRENCY,
                checkout_id=automatic_checkout(top_up_id),
                checkout_url="",
                automatic=True,
            )
        )
        claimed.append((top_up_id, organization_id, str(customer), int(amount)))
    await session.flush()
    return claimed


async def _stale(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
    rows = await session.execute(
        select(TopUp.id, TopUp.organization_id, AutoRecharge.stripe_customer_id, TopUp.amount_cents)
        .join(AutoRecharge, AutoRecharge.organization_id == TopUp.organization_id)
        .where(
            TopUp.automatic.is_(True),
            TopUp.status == "pending",
            TopUp.created_at < clock.now() - RETRY_AFTER,
            AutoRecharge.stripe_customer_id.is_not(None),
        )
        .with_for_update(of=TopUp, skip_locked=True)
    )
    return [(row[0], row[1], str(row[2]), int(row[3])) for row in rows]
