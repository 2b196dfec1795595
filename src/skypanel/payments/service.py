"""Top-ups: open a provider's checkout for an amount, and credit the wallet once, only from the
provider's verified word.

A notification is kept once per (provider, event id); the top-up row is locked while it is
applied, so concurrent deliveries of one payment serialise, and the ledger entry's idempotency
key (`top-up:<id>`) and the unique (provider, payment id) make a second credit impossible even
from two different events. An amount or currency other than the top-up's is never credited: the
top-up is flagged for the admins.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.billing.service import after_credit
from skypanel.invoices import repository as invoice_repository
from skypanel.invoices import service as invoices
from skypanel.invoices.tax import Line
from skypanel.kit import clock, uow
from skypanel.kit.db import transaction
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.kit.money import CURRENCY, format_money
from skypanel.kit.pagination import newest_first
from skypanel.models import AutoRecharge, PaymentNotification, TopUp
from skypanel.organizations.context import OrgContext
from skypanel.payments.gateways import Gateways
from skypanel.payments.providers import Gateway, Notification, SavedCard
from skypanel.platform.service import TopUpLimits, get_setting
from skypanel.wallet import service as wallet
from skypanel.wallet.service import Reference


class AmountOutOfRange(InvalidInput):
    code = "AMOUNT_OUT_OF_RANGE"


class TopUpNotFound(NotFound):
    code = "TOP_UP_NOT_FOUND"


class BillingProfileRequired(Conflict):
    code = "BILLING_PROFILE_REQUIRED"


@dataclass(frozen=True, slots=True)
class Applied:
    """What a notification did: `credited` when this call moved money into the wallet."""

    top_up: TopUp | None
    outcome: str
    credited: bool = False


async def check_amount(session: AsyncSession, amount_cents: int) -> None:
    limits = TopUpLimits.model_validate(await get_setting(session, "top_up_limits"))
    if not limits.minimum <= amount_cents <= limits.maximum:
        raise AmountOutOfRange(
            f"A top-up is between {format_money(limits.minimum)} and"
            f" {format_money(limits.maximum)} {CURRENCY}",
            field="amount",
            minimum=format_money(limits.minimum),
            maximum=format_money(limits.maximum),
        )


async def start(
    session: AsyncSession,
    org: OrgContext,
    gateway: Gateway,
    amount_cents: int,
    *,
    return_url: str,
    save_card: bool = False,
) -> TopUp:
    """Check the amount, open the provider's checkout (with no transaction held across the
    call), then record the top-up as pending. `save_card` keeps the card for auto-recharge."""
    await check_amount(session, amount_cents)
    if await invoice_repository.profile(session, org.id) is None:
        raise BillingProfileRequired(
            "Add your billing details (name, address, country) before the first payment:"
            " they go on your receipts and invoices",
            field="billingProfile",
        )
    top_up_id = uuid.uuid4()
    saved = await session.get(AutoRecharge, org.id)
    card = SavedCard(saved.stripe_customer_id if saved else None) if save_card else None
    await uow.release(session)
    checkout = await gateway.create_checkout(
        top_up_id,
        amount_cents,
        CURRENCY,
        email=org.user.email,
        return_url=return_url.format(top_up_id=top_up_id),
        save_card=card,
    )
    top_up = TopUp(
        id=top_up_id,
        organization_id=org.id,
        created_by=org.user.id,
        provider=gateway.provider,
        status="pending",
        amount_cents=amount_cents,
        currency=CURRENCY,
        checkout_id=checkout.id,
        checkout_url=checkout.url,
        save_card=save_card,
    )
    session.add(top_up)
    await session.flush()
    await record(
        session,
        "wallet.top_up.start",
        f"Top-up of {format_money(amount_cents)} {CURRENCY} started with {gateway.provider}",
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="wallet_top_up",
        entity_id=top_up.id,
    )
    return top_up


async def apply(session: AsyncSession, note: Notification) -> Applied:
    """Apply a verified notification once (a repeated event id does nothing)."""
    kept = await session.scalar(
        insert(PaymentNotification)
        .values(
            id=uuid.uuid4(),
            provider=note.provider,
            event_id=note.event_id,
            event_type=note.event_type,
            outcome="received",
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(PaymentNotification.id)
    )
    if kept is None:
        return Applied(None, "duplicate")
    applied = await settle(session, note)
    notification = await session.get(PaymentNotification, kept)
    assert notification is not None
    notification.outcome = applied.outcome
    notification.top_up_id = applied.top_up.id if applied.top_up else None
    return applied


async def settle(session: AsyncSession, note: Notification) -> Applied:
    """Bring the top-up to what the provider says, under its row lock. Also used by the return
    page with what the provider's API answered (no event id to keep)."""
    if note.outcome == "ignored" or note.checkout_id is None:
        return Applied(None, "ignored")
    top_up = await session.scalar(
        select(TopUp)
        .where(TopUp.provider == note.provider, TopUp.checkout_id == note.checkout_id)
        .with_for_update()
    )
    if top_up is None:
        return Applied(None, "unknown checkout")
    if top_up.status != "pending":
        return Applied(top_up, f"already {top_up.status}")
    if note.outcome == "paid":
        return await _credit(session, top_up, note)
    top_up.status = "expired" if note.outcome == "expired" else "failed"
    top_up.failure_reason = note.reason
    return Applied(top_up, top_up.status)


def settle_after_commit(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession], applied: Applied
) -> None:
    """After a credit commits, settle overdue renewals and resume a suspended subscription, as
    an admin's credit does."""
    if applied.credited and applied.top_up is not None:
        organization_id = applied.top_up.organization_id
        uow.after_commit(session, partial(after_credit, sessions, organization_id))


async def _credit(session: AsyncSession, top_up: TopUp, note: Notification) -> Applied:
    if note.amount_cents != top_up.amount_cents or note.currency != top_up.currency:
        paid = f"{format_money(note.amount_cents or 0)} {note.currency}"
        top_up.flagged = (
            f"The provider reported {paid} for a top-up of"
            f" {format_money(top_up.amount_cents)} {top_up.currency}; nothing was credited"
        )
        await record(
            session,
            "wallet.top_up.flagged",
            top_up.flagged,
            entity_type="wallet_top_up",
            entity_id=top_up.id,
            status="failure",
            metadata={"organizationId": str(top_up.organization_id), "eventId": note.event_id},
        )
        return Applied(top_up, "flagged")
    entry = await wallet.post(
        session,
        top_up.organization_id,
        kind="credit",
        amount_cents=top_up.amount_cents,
        description=f"Top-up via {top_up.provider.title()}",
        idempotency_key=f"top-up:{top_up.id}",
        reference=Reference("wallet_top_up", top_up.id),
    )
    top_up.status = "succeeded"
    top_up.payment_id = note.payment_id
    top_up.ledger_entry_id = entry.id
    top_up.settled_at = clock.now()
    if top_up.save_card and note.customer_id:
        await remember_card(session, top_up.organization_id, note.customer_id)
    await invoices.issue(
        session,
        top_up.organization_id,
        kind="receipt",
        lines=[Line(f"Wallet top-up via {top_up.provider.title()}", 1, top_up.amount_cents)],
        reference=("wallet_top_up", top_up.id),
        taxed=False,
    )
    await record(
        session,
        "wallet.top_up.succeeded",
        f"Wallet credited with {format_money(top_up.amount_cents)} {top_up.currency}"
        f" (top-up via {top_up.provider.title()})",
        organization_id=top_up.organization_id,
        user_id=top_up.created_by,
        entity_type="wallet_top_up",
        entity_id=top_up.id,
        metadata={"balanceAfter": format_money(entry.balance_after_cents)},
    )
    return Applied(top_up, "credited", credited=True)


SWEEP_AFTER = timedelta(minutes=5)
"""A checkout still pending this long is asked about (its notification may be lost)."""
GIVE_UP_AFTER = timedelta(days=3)
"""A checkout the payer never finished is `expired` after this (Stripe expires its own in a day)."""


async def sweep_pending(
    sessions: async_sessionmaker[AsyncSession], gateways: Gateways
) -> list[Applied]:
    """Ask the providers about checkouts still pending after a while, so a payment whose
    notification never came (a webhook misconfigured, a delivery given up) is still credited
    once, and one never finished ends as `expired`."""
    now = clock.now()
    async with transaction(sessions) as session:
        pending = (
            await session.execute(
                select(TopUp.provider, TopUp.checkout_id, TopUp.created_at).where(
                    TopUp.status == "pending",
                    TopUp.automatic.is_(False),
                    TopUp.created_at < now - SWEEP_AFTER,
                )
            )
        ).all()
        configured = await gateways.configs(session)
    applied = []
    for provider, checkout_id, created_at in pending:
        if provider not in configured:
            continue
        note = await gateways.built(configured[provider]).confirm(checkout_id)
        if note.outcome == "ignored" and created_at < now - GIVE_UP_AFTER:
            note = dataclasses.replace(note, outcome="expired")
        async with transaction(sessions) as session:
            result = await settle(session, note)
            settle_after_commit(session, sessions, result)
        applied.append(result)
    return applied


async def remember_card(session: AsyncSession, organization_id: uuid.UUID, customer: str) -> None:
    """The Stripe customer holding the card saved at a top-up, for auto-recharge."""
    await session.execute(
        insert(AutoRecharge)
        .values(organization_id=organization_id, stripe_customer_id=customer)
        .on_conflict_do_update(
            index_elements=[AutoRecharge.organization_id],
            set_={"stripe_customer_id": customer, "updated_at": clock.now()},
        )
    )


async def of_organization(
    session: AsyncSession, organization_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Sequence[TopUp]:
    query = newest_first(
        select(TopUp).where(TopUp.organization_id == organization_id),
        TopUp.created_at,
        TopUp.id,
        cursor=cursor,
        limit=limit,
    )
    return (await session.scalars(query)).all()


async def all_top_ups(
    session: AsyncSession,
    *,
    status: str | None,
    provider: str | None,
    organization_id: uuid.UUID | None,
    flagged: bool | None,
    cursor: str | None,
    limit: int,
) -> Sequence[TopUp]:
    """Every organization's top-ups (admins), newest first, filtered."""
    query = select(TopUp)
    if status:
        query = query.where(TopUp.status == status)
    if provider:
        query = query.where(TopUp.provider == provider)
    if organization_id:
        query = query.where(TopUp.organization_id == organization_id)
    if flagged is not None:
        query = query.where(TopUp.flagged.is_not(None) if flagged else TopUp.flagged.is_(None))
    query = newest_first(query, TopUp.created_at, TopUp.id, cursor=cursor, limit=limit)
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, organization_id: uuid.UUID, top_up_id: uuid.UUID) -> TopUp:
    top_up = await session.get(TopUp, top_up_id)
    if top_up is None or top_up.organization_id != organization_id:
        raise TopUpNotFound("No such top-up")
    return top_up
