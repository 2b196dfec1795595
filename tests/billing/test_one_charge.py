"""One implementation of "charge a cycle": a renewal charged by the bulk run, one resumed after a
suspension and one settled during the grace period (both the single path) write the same cycle,
the same ledger line and the same activity entry, apart from their ids and periods."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from skypanel.kit.periods import add_months
from skypanel.models import EasypanelServer
from tests.billing.helpers import bill_at, subscribe_at
from tests.support import Account, clock_at, credit, make_plan, register

ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
RENEWAL = add_months(ANCHOR, 1)


async def _charge(db: async_sessionmaker[AsyncSession], org: uuid.UUID) -> dict[str, Any]:
    """The organization's latest paid renewal, with its ledger line and activity entry."""
    async with db() as session:
        cycle = (
            (
                await session.execute(
                    text(
                        "SELECT * FROM container_billing_cycles WHERE organization_id = :o"
                        " AND kind = 'renewal' AND status = 'billed'"
                        " ORDER BY billing_period_start DESC LIMIT 1"
                    ),
                    {"o": org},
                )
            )
            .mappings()
            .one()
        )
        line = (
            (
                await session.execute(
                    text("SELECT * FROM payment_transactions WHERE id = :id"),
                    {"id": cycle["payment_transaction_id"]},
                )
            )
            .mappings()
            .one()
        )
        event = (
            (
                await session.execute(
                    text(
                        "SELECT * FROM activity_logs WHERE entity_id = :id"
                        " AND event_type = 'container.billing.charge'"
                    ),
                    {"id": cycle["id"]},
                )
            )
            .mappings()
            .one()
        )
    start, end = cycle["billing_period_start"], cycle["billing_period_end"]
    assert line["description"] == f"Starter plan, {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    assert line["idempotency_key"] == f"cycle:{cycle['id']}"
    assert (line["reference_type"], line["reference_id"]) == ("billing_cycle", cycle["id"])
    assert event["created_at"] == line["created_at"]
    different = {"id", "subscription_id", "organization_id", "wallet_id", "entity_id"}
    moments = {"billing_period_start", "billing_period_end", "created_at", "updated_at"}
    return {
        "cycle": {k: v for k, v in cycle.items() if k not in different | moments}
        | {"paid": cycle["payment_transaction_id"] is not None}
        | {"payment_transaction_id": None},
        "line": {
            k: v
            for k, v in line.items()
            if k not in different | moments | {"description", "idempotency_key", "reference_id"}
        },
        "event": {k: v for k, v in event.items() if k not in different | moments},
    }


async def test_the_bulk_run_and_the_single_path_charge_a_renewal_alike(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    carol = await register(client, "carol@example.com")
    plan = await make_plan(db, price_cents=1000)
    for account in (alice, bob, carol):
        await credit(db, account.organization_id, 1000)
        await subscribe_at(client, account, plan, ANCHOR)
    await credit(db, alice.organization_id, 1000)
    report = await bill_at(client, db, RENEWAL)
    assert (report.charged, report.failed) == (1, 2)
    with clock_at(lambda: RENEWAL + timedelta(days=1)):
        await credit(db, bob.organization_id, 1000)
        settled = await billing.after_credit(db, bob.organization_id)
    assert settled.recovered == 1
    await bill_at(client, db, RENEWAL + timedelta(days=4))
    with clock_at(lambda: RENEWAL + timedelta(days=5)):
        await credit(db, carol.organization_id, 1000)
        resumed = await billing.after_credit(db, carol.organization_id)
    assert resumed.resumed == 1

    bulk = await _charge(db, alice.organization_id)
    assert await _charge(db, bob.organization_id) == {
        **bulk,
        # tried by the renewal and by the run's overdue sweep, paid at the credit
        "cycle": {**bulk["cycle"], "attempts": 3},
    }
    assert await _charge(db, carol.organization_id) == bulk
    assert bulk["cycle"] == {
        "plan_id": plan,
        "kind": "renewal",
        "effective_end": None,
        "monthly_rate_cents": 1000,
        "amount_cents": 1000,
        "refunded_cents": 0,
        "status": "billed",
        "attempts": 1,
        "failure_reason": None,
        "payment_transaction_id": None,
        "paid": True,
    }
    assert bulk["line"] == {
        "amount_cents": -1000,
        "balance_after_cents": 0,
        "currency": "USD",
        "kind": "debit",
        "reference_type": "billing_cycle",
        "actor_user_id": None,
    }
    assert {k: bulk["event"][k] for k in ("event_type", "message", "status", "metadata")} == {
        "event_type": "container.billing.charge",
        "message": "Charged 10.00 for Starter",
        "status": "success",
        "metadata": {"amount": "10.00", "kind": "renewal"},
    }
