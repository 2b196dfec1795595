"""Refunds of top-ups to the card or PayPal account they came from, never beyond what is unspent.

Asked for in one transaction: the top-up and then the wallet are locked (the order every credit
takes too), the amount is bounded by what is left of the top-up and by the wallet's balance (what
the ledger says is unspent), and the wallet is debited with the refund recorded as `pending`.
Then the provider is asked, with no transaction open, under the refund's id as idempotency key;
its answer settles the refund in a second transaction. A refusal puts the amount back in the
wallet. A refund a crash left `pending` is asked again by the worker, and the provider refunds
once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.invoices import repository as invoice_repository
from skypanel.invoices import service as invoices
from skypanel.invoices.tax import Line
from skypanel.kit import clock, uow
from skypanel.kit.db import transaction
from skypanel.kit.errors import Conflict
from skypanel.kit.money import format_money
from skypanel.models import TopUp, TopUpRefund, User
from skypanel.payments.gateways import Gateways
from skypanel.payments.providers import ProviderRefused
from skypanel.payments.service import TopUpNotFound
from skypanel.wallet import repository as wallets
from skypanel.wallet import service as wallet
from skypanel.wallet.service import Reference

RETRY_AFTER = timedelta(minutes=2)
"""A pending refund older than this was left by a request that did not finish."""


class NotRefundable(Conflict):
    code = "NOT_REFUNDABLE"


class RefundExceedsUnspent(Conflict):
    code = "REFUND_EXCEEDS_UNSPENT"


async def refundable(session: AsyncSession, top_up: TopUp) -> int:
    """What may still go back: what is left of the top-up, at most the wallet's balance."""
    pending = await session.scalar(
        select(func.coalesce(func.sum(TopUpRefund.amount_cents), 0)).where(
            TopUpRefund.top_up_id == top_up.id, TopUpRefund.status == "pending"
        )
    )
    left = top_up.amount_cents - top_up.refunded_cents - int(pending or 0)
    held = await wallets.of_organization(session, top_up.organization_id)
    return max(0, min(left, held.balance_cents if held else 0))


async def ask(
    session: AsyncSession, admin: User, top_up_id: uuid.UUID, amount_cents: int, reason: str
) -> TopUpRefund:
    """Debit the wallet and record the refund as pending (the provider is asked after)."""
    top_up = await session.get(TopUp, top_up_id, with_for_update=True, populate_existing=True)
    if top_up is None:
        raise TopUpNotFound("No such top-up")
    if top_up.status != "succeeded" or top_up.payment_id is None:
        raise NotRefundable(f"Only a paid top-up can be refunded; this one is {top_up.status}")
    await wallets.lock(session, top_up.organization_id)
    most = await refundable(session, top_up)
    if amount_cents > most:
        raise RefundExceedsUnspent(
            f"At most {format_money(most)} {top_up.currency} of this top-up is unspent and can"
            " be refunded",
            field="amount",
            refundable=format_money(most),
        )
    refund = TopUpRefund(
        id=uuid.uuid4(),
        top_up_id=top_up.id,
        amount_cents=amount_cents,
        status="pending",
        reason=reason,
        requested_by=admin.id,
    )
    session.add(refund)
    await session.flush()
    entry = await wallet.post(
        session,
        top_up.organization_id,
        kind="debit",
        amount_cents=amount_cents,
        description=f"Refund to {top_up.provider.title()}: {reason}",
        idempotency_key=f"top-up-refund:{refund.id}",
        reference=Reference("wallet_top_up_refund", refund.id),
        actor_id=admin.id,
    )
    refund.debit_entry_id = entry.id
    await record(
        session,
        "wallet.top_up.refund",
        f"Refund of {format_money(amount_cents)} {top_up.currency} to {top_up.provider.title()}"
        f" asked: {reason}",
        organization_id=top_up.organization_id,
        user_id=admin.id,
        entity_type="wallet_top_up",
        entity_id=top_up.id,
        metadata={"refundId": str(refund.id)},
    )
    return refund


async def settle(session: AsyncSession, gateways: Gateways, refund_id: uuid.UUID) -> TopUpRefund:
    """Ask the provider for a pending refund, then record its answer. Starts with no open
    transaction of its own work (the caller committed the ask)."""
    refund = await session.get(TopUpRefund, refund_id, populate_existing=True)
    assert refund is not None
    top_up = await session.get(TopUp, refund.top_up_id)
    assert top_up is not None
    assert top_up.payment_id is not None
    payment_id, provider, amount, currency = (
        top_up.payment_id,
        top_up.provider,
        refund.amount_cents,
        top_up.currency,
    )
    gateway = await gateways.get(session, provider)
    await uow.release(session)
    refused: ProviderRefused | None = None
    provider_refund_id = None
    try:
        provider_refund_id = await gateway.refund(payment_id, amount, currency, refund_id=refund_id)
    except ProviderRefused as exc:
        refused = exc
    refund = await session.get(TopUpRefund, refund_id, with_for_update=True, populate_existing=True)
    assert refund is not None
    if refund.status != "pending":
        return refund
    top_up = await session.get(TopUp, refund.top_up_id, with_for_update=True)
    assert top_up is not None
    if refused is None:
        refund.status, refund.provider_refund_id = "succeeded", provider_refund_id
        top_up.refunded_cents += refund.amount_cents
        if top_up.refunded_cents == top_up.amount_cents:
            top_up.status = "refunded"
        receipt = await invoice_repository.by_reference(
            session, "receipt", "wallet_top_up", top_up.id
        )
        await invoices.issue(
            session,
            top_up.organization_id,
            kind="credit_note",
            lines=[Line(f"Refund to {top_up.provider.title()}", 1, refund.amount_cents)],
            reference=("wallet_top_up_refund", refund.id),
            related=receipt.id if receipt else None,
            taxed=False,
        )
        return refund
    refund.status, refund.failure_reason = "failed", refused.message
    await wallet.post(
        session,
        top_up.organization_id,
        kind="refund",
        amount_cents=refund.amount_cents,
        description=f"Refund to {top_up.provider.title()} failed; the amount is back",
        idempotency_key=f"top-up-refund-back:{refund.id}",
        reference=Reference("wallet_top_up_refund", refund.id),
    )
    await record(
        session,
        "wallet.top_up.refund_failed",
        f"Refund of {format_money(refund.amount_cents)} {top_up.currency} failed: "
        f"{refused.message}",
        organization_id=top_up.organization_id,
        entity_type="wallet_top_up",
        entity_id=top_up.id,
        status="failure",
    )
    return refund


async def retry_pending(
    sessions: async_sessionmaker[AsyncSession], gateways: Gateways
) -> Sequence[uuid.UUID]:
    """Settle the refunds a request left pending (it crashed after asking)."""
    async with transaction(sessions) as session:
        stale = (
            await session.scalars(
                select(TopUpRefund.id).where(
                    TopUpRefund.status == "pending",
                    TopUpRefund.created_at < clock.now() - RETRY_AFTER,
                )
            )
        ).all()
    for refund_id in stale:
        async with transaction(sessions) as session:
            await settle(session, gateways, refund_id)
    return stale
