"""A renewal batch costs a fixed number of statements, whatever its size (so a run stays linear
in the due subscriptions), and concurrent batches still number their invoices without gaps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.seed import seed_due_subscriptions
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from tests.support import clock_at, make_plan

DUE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
PRICE = 1500


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[tuple[str, bool]]]:
    """Every statement sent while the block runs but the test's savepoints: (its first words,
    whether sent row by row)."""
    seen: list[tuple[str, bool]] = []

    def sent(*args: Any) -> None:
        statement, executemany = args[2], args[5]
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            seen.append((" ".join(statement.split()[:3]), executemany))

    event.listen(engine.sync_engine, "before_cursor_execute", sent)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", sent)


async def _renew(db: async_sessionmaker[AsyncSession], engine: AsyncEngine, due: int) -> list[Any]:
    plan = await make_plan(db, price_cents=PRICE, name=f"Batch {due}")
    await seed_due_subscriptions(db, count=due, plan_id=plan, due=DUE, balance_cents=10_000)
    with clock_at(lambda: DUE + timedelta(minutes=5)), statements(engine) as seen:
        report = await billing.run(db, batch=due)
    assert report.charged == due
    return seen


async def test_a_batch_of_40_renewals_sends_the_statements_of_a_batch_of_2_none_row_by_row(
    db: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    small = await _renew(db, engine, 2)
    large = await _renew(db, engine, 40)
    assert [row_by_row for _, row_by_row in large if row_by_row] == []
    assert large == small
    assert len(large) <= 30, large


async def test_four_concurrent_runs_number_their_invoices_without_gaps_one_per_debit(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    plan = await make_plan(committed, price_cents=PRICE)
    await seed_due_subscriptions(committed, count=600, plan_id=plan, due=DUE, balance_cents=10_000)
    with clock_at(lambda: DUE + timedelta(minutes=5)):
        reports = await asyncio.gather(*(billing.run(committed, batch=50) for _ in range(4)))
    assert sum(report.charged for report in reports) == 600
    async with committed() as session:
        numbers = (
            await session.scalars(
                text("SELECT number FROM billing_documents WHERE kind = 'invoice' ORDER BY number")
            )
        ).all()
        unmatched = await session.scalar(
            text(
                "SELECT count(*) FROM payment_transactions AS p"
                " FULL JOIN billing_documents AS d ON d.reference_id = p.id"
                " WHERE p.kind = 'debit' AND d.id IS NULL OR p.id IS NULL"
            )
        )
        told = await session.scalar(
            text(
                "SELECT count(*) FROM events AS e JOIN billing_documents AS d"
                " ON e.dedupe_key = 'document:' || d.id"
                " WHERE e.data ->> 'number' = d.number AND e.type = 'invoice.issued'"
            )
        )
    assert numbers == [f"INV-2027-{n:06d}" for n in range(1, 601)]
    assert (unmatched, told) == (0, 600)
