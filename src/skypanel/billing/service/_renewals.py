"""Renewing a claimed batch: cycles, debits, invoices, events and messages in a few statements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.billing import messages, repository
from skypanel.billing.service._report import RunReport
from skypanel.invoices import service as invoices
from skypanel.kit import bulk, uow
from skypanel.kit.periods import add_months
from skypanel.models import ActivityLog, BillingCycle, ContainerSubscription
from skypanel.notices import service as notices
from skypanel.subscriptions import cycles
from skypanel.wallet import service as wallet


async def renew_batch(
    session: AsyncSession, due: Sequence[Row[*tuple[Any, ...]]], now: datetime, grace_days: int
) -> RunReport:
    """Charge the next period of each claimed subscription at its plan's current price (tax
    added as its invoice says), all wallets debited at once and all invoices issued at once,
    numbered in claim order; a short wallet fails that renewal (no invoice) and starts its grace
    period, which runs from now (a late run still grants all of it)."""
    report = RunReport()
    renewals = [
        cycles.new_cycle(
            subscription_id=row.id,
            organization_id=row.organization_id,
            plan_id=row.plan_id,
            monthly_rate_cents=row.price_monthly_cents,
            kind="renewal",
            start=row.current_period_end,
            end=add_months(row.anchor_at, row.periods_billed + 1),
            now=now,
        )
        for row in due
    ]
    payable = [(row, c) for row, c in zip(due, renewals, strict=True) if c["amount_cents"] > 0]
    quotes = await invoices.quote_many(
        session,
        [
            (
                c["organization_id"],
                [
                    cycles.charge_line(
                        row.plan_name,
                        c["billing_period_start"],
                        c["billing_period_end"],
                        c["amount_cents"],
                    )
                ],
            )
            for row, c in payable
        ],
    )
    entries = await wallet.debit_many(
        session,
        [
            cycles.debit(
                cycle_id=c["id"],
                organization_id=c["organization_id"],
                amount_cents=quote.total_cents,
                plan_name=row.plan_name,
                start=c["billing_period_start"],
                end=c["billing_period_end"],
            )
            for (row, c), quote in zip(payable, quotes, strict=True)
        ],
    )
    charged = {c["id"]: quote.total_cents for (_, c), quote in zip(payable, quotes, strict=True)}
    paid = {c["id"]: entry for (_, c), entry in zip(payable, entries, strict=True)}
    grace_until = now + timedelta(days=grace_days)
    events, subscriptions = [], []
    for cycle, row in zip(renewals, due, strict=True):
        cycle["attempts"] = 1
        failed = cycle["id"] in paid and paid[cycle["id"]] is None
        if failed:
            cycle.update(status="failed", failure_reason="The wallet balance is too low")
            events.append(
                cycles.failed_event(
                    cycle_id=cycle["id"],
                    subscription_id=row.id,
                    organization_id=row.organization_id,
                    amount_cents=cycle["amount_cents"],
                    grace_until=grace_until,
                )
            )
            report.failed += 1
        else:
            cycle.update(status="billed", payment_transaction_id=paid.get(cycle["id"]))
            events.append(
                cycles.charge_event(
                    cycle_id=cycle["id"],
                    organization_id=row.organization_id,
                    amount_cents=charged.get(cycle["id"], 0),
                    kind="renewal",
                    plan_name=row.plan_name,
                )
            )
            report.charged += 1
        subscriptions.append(
            {
                "id": row.id,
                "status": "past_due" if failed else "active",
                "grace_until": grace_until if failed else None,
                "current_period_start": cycle["billing_period_start"],
                "current_period_end": cycle["billing_period_end"],
                "periods_billed": row.periods_billed + 1,
                "updated_at": now,
            }
        )
    await bulk.insert_rows(session, BillingCycle, renewals)
    await bulk.insert_rows(session, ActivityLog, events)
    await bulk.update_rows(session, ContainerSubscription, subscriptions)
    for row in due:
        # Written in bulk, past the ORM's watch: their cached reads and pages are stale.
        uow.stale_organization(session, row.organization_id)
    await _tell_renewals(session, due, renewals, charged, grace_until)
    # Last, so the invoice counter stays locked for as short a time as possible until commit.
    await invoices.issue_many(
        session,
        "invoice",
        [
            (quote, (cycles.LEDGER_ENTRY, entry))
            for quote, entry in zip(quotes, entries, strict=True)
            if entry is not None
        ],
    )
    return report


async def _tell_renewals(
    session: AsyncSession,
    due: Sequence[Row[*tuple[Any, ...]]],
    renewals: list[dict[str, Any]],
    charged: dict[uuid.UUID, int],
    grace_until: datetime,
) -> None:
    """A message for each renewal that cost something: charged, or failed with the grace end
    (all of the batch's in a few statements)."""
    failed = {c["organization_id"] for c in renewals if c["status"] == "failed"}
    balances = await repository.balances(session, failed) if failed else {}
    told = []
    for cycle, row in zip(renewals, due, strict=True):
        amount = charged.get(cycle["id"], 0)
        if not amount:
            continue
        if cycle["status"] == "failed":
            told.append(
                messages.renewal_failed(
                    row.organization_id,
                    cycle["id"],
                    plan=row.plan_name,
                    amount_cents=amount,
                    balance_cents=balances.get(row.organization_id, 0),
                    grace_until=grace_until,
                )
            )
        else:
            told.append(
                messages.renewed(
                    row.organization_id,
                    cycle["id"],
                    plan=row.plan_name,
                    amount_cents=amount,
                    start=cycle["billing_period_start"],
                    end=cycle["billing_period_end"],
                )
            )
    await notices.tell(session, told)
