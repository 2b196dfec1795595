"""The money of one billing cycle: its row, its debit and its events; charged, cut, refunded.

Both paths that charge cycles build them here: the single path (subscribing, a plan change, a
resumption, an overdue renewal settled: ORM rows, one at a time) and the bulk renewal run
(`billing.service.renew_batch`: plain rows in set-based statements). So a cycle, its ledger line
(`wallet.service`) and its activity entry read the same whichever path wrote them.

A period is paid at most once (an exclusion constraint over each paid cycle's service, see
`BillingCycle`). When a paid cycle's service ends early (a plan change, a cancellation),
`end_service` records where and refunds the unused part; an unpaid cycle settled by a plan
change is cut to the part already used (`settle_used`) and paid for that part only.

Every ledger entry of a cycle has its document, issued in the same transaction and referring
to the entry (`("payment_transaction", entry id)`): a debit its invoice, a refund its credit note
(related to the cycle's invoice). The wallet moves the document's total, priced before the money
moves (`invoices.service.quote`): with net prices and a rate that applies to the buyer, the plan
price plus tax; otherwise the plan price. `amount_cents` and `refunded_cents` of a cycle stay the
price (what proration works on); the ledger and the documents hold what was paid.

This module depends only on models, kit, activity, wallet and invoices: `subscriptions` and
`billing.service` both build on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import activity_values, record
from skypanel.invoices import repository as documents
from skypanel.invoices import service as invoices
from skypanel.invoices.tax import Line
from skypanel.kit import clock
from skypanel.kit.money import format_money, round_half_up
from skypanel.kit.periods import unused_fraction
from skypanel.models import ActivityLog, BillingCycle, ContainerPlan, ContainerSubscription
from skypanel.wallet import service as wallet
from skypanel.wallet.service import InsufficientBalance

LEDGER_ENTRY = "payment_transaction"
"""The reference type of every cycle's document: its id is the ledger entry's."""


def new_cycle(
    *,
    subscription_id: uuid.UUID,
    organization_id: uuid.UUID,
    plan_id: uuid.UUID,
    monthly_rate_cents: int,
    kind: str,
    start: datetime,
    end: datetime,
    now: datetime,
    amount_cents: int | None = None,
) -> dict[str, Any]:
    """The columns of a new, unpaid (`pending`) cycle for `[start, end)`: a month of the plan
    unless `amount_cents` says otherwise (a proration)."""
    return {
        "id": uuid.uuid4(),
        "subscription_id": subscription_id,
        "organization_id": organization_id,
        "plan_id": plan_id,
        "kind": kind,
        "billing_period_start": start,
        "billing_period_end": end,
        "effective_end": None,
        "monthly_rate_cents": monthly_rate_cents,
        "amount_cents": monthly_rate_cents if amount_cents is None else amount_cents,
        "refunded_cents": 0,
        "status": "pending",
        "attempts": 0,
        "failure_reason": None,
        "payment_transaction_id": None,
        "created_at": now,
        "updated_at": now,
    }


def debit(
    *,
    cycle_id: uuid.UUID,
    organization_id: uuid.UUID,
    amount_cents: int,
    plan_name: str,
    start: datetime,
    end: datetime,
) -> wallet.Debit:
    """The ledger debit that pays a cycle (`amount_cents`: its invoice's total); its key is the
    cycle, so it is written at most once."""
    return wallet.Debit(
        organization_id=organization_id,
        amount_cents=amount_cents,
        description=_description(plan_name, start, end),
        idempotency_key=f"cycle:{cycle_id}",
        reference=wallet.Reference("billing_cycle", cycle_id),
    )


def charge_line(plan_name: str, start: datetime, end: datetime, price_cents: int) -> Line:
    """The invoice line of a cycle: its price for its period, worded as its ledger entry."""
    return Line(_description(plan_name, start, end), 1, price_cents)


def _description(plan_name: str, start: datetime, end: datetime) -> str:
    """The dates as `isoformat` writes them (`%Y-%m-%d`, six times faster than `strftime`: a
    billing run words every renewal twice, for its ledger entry and its invoice line)."""
    return f"{plan_name} plan, {start.date().isoformat()} to {end.date().isoformat()}"


async def charged_cents(session: AsyncSession, organization_id: uuid.UUID, price_cents: int) -> int:
    """What the wallet pays for a charge of `price_cents` (tax added to net prices), to check a
    balance before charging."""
    if price_cents <= 0:
        return 0
    quote = await invoices.quote(session, organization_id, [Line("Charge", 1, price_cents)])
    return quote.total_cents


def charge_event(
    *,
    cycle_id: uuid.UUID,
    organization_id: uuid.UUID,
    amount_cents: int,
    kind: str,
    plan_name: str,
    actor: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The activity entry of a paid cycle."""
    amount = format_money(amount_cents)
    return activity_values(
        "container.billing.charge",
        f"Charged {amount} for {plan_name}",
        organization_id=organization_id,
        user_id=actor,
        entity_type="container_billing_cycle",
        entity_id=cycle_id,
        metadata={"amount": amount, "kind": kind},
    )


def failed_event(
    *,
    cycle_id: uuid.UUID,
    subscription_id: uuid.UUID,
    organization_id: uuid.UUID,
    amount_cents: int,
    grace_until: datetime,
) -> dict[str, Any]:
    """The activity entry of a renewal the wallet could not pay."""
    amount = format_money(amount_cents)
    return activity_values(
        "container.billing.failed",
        f"Renewal of {amount} failed: the wallet is short;"
        f" services keep running until {grace_until:%Y-%m-%d %H:%M} UTC",
        organization_id=organization_id,
        entity_type="container_subscription",
        entity_id=subscription_id,
        status="warning",
        metadata={"cycleId": str(cycle_id), "amount": amount},
    )


async def open_cycle(
    session: AsyncSession,
    subscription: ContainerSubscription,
    plan: ContainerPlan,
    start: datetime,
    end: datetime,
    kind: str,
    amount_cents: int | None = None,
) -> BillingCycle:
    """An unpaid (`pending`) cycle for one period, added to the session."""
    cycle = BillingCycle(
        **new_cycle(
            subscription_id=subscription.id,
            organization_id=subscription.organization_id,
            plan_id=plan.id,
            monthly_rate_cents=plan.price_monthly_cents,
            kind=kind,
            start=start,
            end=end,
            now=clock.now(),
            amount_cents=amount_cents,
        )
    )
    session.add(cycle)
    await session.flush()
    return cycle


async def pay_cycle(
    session: AsyncSession, cycle: BillingCycle, plan: ContainerPlan, *, actor: uuid.UUID | None
) -> None:
    """Debit the cycle's invoice total from the wallet and issue the invoice (raises
    `InsufficientBalance`, writing nothing and taking no document number)."""
    cycle.attempts += 1
    charged = 0
    if cycle.amount_cents > 0:
        start, end = cycle.billing_period_start, cycle.effective_end or cycle.billing_period_end
        quote = await invoices.quote(
            session,
            cycle.organization_id,
            [charge_line(plan.name, start, end, cycle.amount_cents)],
        )
        entry = await wallet.charge(
            session,
            debit(
                cycle_id=cycle.id,
                organization_id=cycle.organization_id,
                amount_cents=quote.total_cents,
                plan_name=plan.name,
                start=start,
                end=end,
            ),
            actor_id=actor,
        )
        cycle.payment_transaction_id = entry.id
        await invoices.issue_quoted(
            session, quote, kind="invoice", reference=(LEDGER_ENTRY, entry.id)
        )
        charged = quote.total_cents
    cycle.status = "billed"
    cycle.failure_reason = None
    session.add(
        ActivityLog(
            **charge_event(
                cycle_id=cycle.id,
                organization_id=cycle.organization_id,
                amount_cents=charged,
                kind=cycle.kind,
                plan_name=plan.name,
                actor=actor,
            )
        )
    )
    await session.flush()


async def charge_cycle(
    session: AsyncSession,
    subscription: ContainerSubscription,
    plan: ContainerPlan,
    start: datetime,
    end: datetime,
    *,
    kind: str,
    amount_cents: int | None = None,
    actor: uuid.UUID | None = None,
) -> BillingCycle:
    """A cycle, paid from the wallet at once (raises `InsufficientBalance`)."""
    cycle = await open_cycle(session, subscription, plan, start, end, kind, amount_cents)
    await pay_cycle(session, cycle, plan, actor=actor)
    return cycle


async def try_pay(session: AsyncSession, cycle: BillingCycle, plan: ContainerPlan) -> bool:
    """Pay a failed cycle if the wallet can; otherwise count the attempt (writing nothing else)."""
    try:
        async with session.begin_nested():
            await pay_cycle(session, cycle, plan, actor=None)
    except InsufficientBalance as exc:
        await session.refresh(cycle)
        cycle.attempts += 1
        cycle.status = "failed"
        cycle.failure_reason = exc.message
        return False
    return True


def unused_cents(cycle: BillingCycle, at: datetime) -> int:
    """The part of the cycle's amount not used yet at `at`, by the second (half-up), never more
    than is left of what it was paid."""
    fraction = unused_fraction(cycle.billing_period_start, cycle.billing_period_end, at)
    return min(
        round_half_up(cycle.amount_cents * fraction), cycle.amount_cents - cycle.refunded_cents
    )


def used_cents(cycle: BillingCycle, at: datetime) -> int:
    """What an unpaid cycle owes for its service up to `at`: its amount less the unused part, to
    the cent what a paid cycle ended at `at` keeps after its refund."""
    return cycle.amount_cents - unused_cents(cycle, at)


def _covers(cycle: BillingCycle, at: datetime) -> bool:
    return cycle.billing_period_start <= at < (cycle.effective_end or cycle.billing_period_end)


async def end_service(
    session: AsyncSession, cycle: BillingCycle, at: datetime, *, reason: str, actor: uuid.UUID
) -> int:
    """End a paid cycle's service at `at`: record where, refund the unused part. Returns the
    cents given back to the wallet."""
    refund = unused_cents(cycle, at)
    if _covers(cycle, at):
        cycle.effective_end = at
    refunded = await refund_cycle(session, cycle, refund, reason=reason, actor=actor)
    await session.flush()
    return refunded


async def refund_due(
    session: AsyncSession, cycle: BillingCycle, at: datetime, *, reason: str
) -> int:
    """What `end_service` at `at` would give back to the wallet, to check a balance first."""
    cents = _refundable(cycle, unused_cents(cycle, at))
    if cents <= 0:
        return 0
    quote = await _credit_quote(session, cycle, cents, reason=reason)
    return cents if quote is None else quote.total_cents


async def settle_used(
    session: AsyncSession,
    cycle: BillingCycle,
    plan: ContainerPlan,
    at: datetime,
    *,
    actor: uuid.UUID,
) -> int:
    """Pay an unpaid cycle for its service up to `at` only, its service ending there (raises
    `InsufficientBalance`). Returns the cents paid."""
    if _covers(cycle, at):
        cycle.amount_cents = used_cents(cycle, at)
        cycle.effective_end = at
    await pay_cycle(session, cycle, plan, actor=actor)
    return cycle.amount_cents


def _refundable(cycle: BillingCycle, cents: int) -> int:
    return min(cents, cycle.amount_cents - cycle.refunded_cents)


async def _credit_quote(
    session: AsyncSession, cycle: BillingCycle, cents: int, *, reason: str
) -> invoices.Quote | None:
    """The credit note of refunding `cents` of the cycle's price, taxed as its invoice was; None
    for a cycle paid before invoices were issued (nothing to correct: the price is refunded)."""
    if cycle.payment_transaction_id is None:
        return None
    invoice = await documents.by_reference(
        session, "invoice", LEDGER_ENTRY, cycle.payment_transaction_id
    )
    if invoice is None:
        return None
    line = Line(f"Refund ({reason}) of {invoice.number}", 1, cents)
    return await invoices.quote(session, cycle.organization_id, [line], related=invoice.id)


async def refund_cycle(
    session: AsyncSession, cycle: BillingCycle, cents: int, *, reason: str, actor: uuid.UUID | None
) -> int:
    """Give back part of a paid cycle's price, never more than was paid for it, with a credit
    note of its invoice. Returns the cents given back to the wallet (tax included)."""
    cents = _refundable(cycle, cents)
    if cents <= 0:
        return 0
    quote = await _credit_quote(session, cycle, cents, reason=reason)
    amount = cents if quote is None else quote.total_cents
    entry = await wallet.post(
        session,
        cycle.organization_id,
        kind="refund",
        amount_cents=amount,
        description=f"Refund ({reason}) for {cycle.billing_period_start:%Y-%m-%d}",
        idempotency_key=f"refund:{cycle.id}:{cycle.refunded_cents}",
        reference=wallet.Reference("billing_cycle", cycle.id),
        actor_id=actor,
    )
    if quote is not None:
        await invoices.issue_quoted(
            session, quote, kind="credit_note", reference=(LEDGER_ENTRY, entry.id)
        )
    cycle.refunded_cents += cents
    cycle.status = "refunded"
    await record(
        session,
        "container.billing.refund",
        f"Refunded {format_money(amount)} ({reason})",
        organization_id=cycle.organization_id,
        user_id=actor,
        entity_type="container_billing_cycle",
        entity_id=cycle.id,
        metadata={"amount": format_money(amount), "reason": reason},
    )
    return amount
