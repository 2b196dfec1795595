from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta

from bench.seed import seed_due_subscriptions
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from tests.support import clock_at, make_plan

DUE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
PRICE = 1500
START = 10_000


async def _ledger_check(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """Every subscription renewed exactly once; every wallet equals its ledger."""
    async with sessions() as session:
        cycles = (
            await session.execute(
                text(
                    "SELECT count(*), count(DISTINCT subscription_id) FROM container_billing_cycles"
                    " WHERE kind = 'renewal' AND status = 'billed'"
                )
            )
        ).one()
        assert tuple(cycles) == (count, count)
        debits = await session.scalar(
            text("SELECT count(*) FROM payment_transactions WHERE kind = 'debit'")
        )
        assert debits == count
        wrong = await session.scalar(
            text(
                "SELECT count(*) FROM wallets w WHERE w.balance_cents <> :expected"
                " OR w.balance_cents <> (SELECT sum(amount_cents) FROM payment_transactions p"
                " WHERE p.wallet_id = w.id)"
            ),
            {"expected": START - PRICE},
        )
        assert wrong == 0
        advanced = await session.scalar(
            text("SELECT count(*) FROM container_subscriptions WHERE periods_billed = 2")
        )
        assert advanced == count


async def test_four_workers_over_5000_due_subscriptions_charge_each_once(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    plan = await make_plan(committed, price_cents=PRICE)
    await seed_due_subscriptions(committed, count=5000, plan_id=plan, due=DUE, balance_cents=START)
    with clock_at(lambda: DUE + timedelta(minutes=5)):
        reports = await asyncio.gather(*(billing.run(committed, batch=100) for _ in range(4)))
    assert sum(r.charged for r in reports) == 5000
    assert all(r.charged > 0 for r in reports), [r.charged for r in reports]
    await _ledger_check(committed, 5000)


async def test_a_billing_run_killed_halfway_then_rerun_charges_the_rest_once(
    committed: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    plan = await make_plan(committed, price_cents=PRICE)
    await seed_due_subscriptions(committed, count=3000, plan_id=plan, due=DUE, balance_cents=START)
    env = {**os.environ, "SKYPANEL_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "skypanel", "billing", "run", "--batch", "50",
               "--now", (DUE + timedelta(minutes=5)).isoformat()]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    renewed = 0
    for _ in range(600):
        await asyncio.sleep(0.05)
        async with committed() as session:
            renewed = int(
                await session.scalar(text("SELECT count(*) FROM container_billing_cycles")) or 0
            )
        if renewed >= 300 or process.returncode is not None:
            break
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), timeout=30)
    assert 0 < renewed < 3000, f"the run was not caught midway ({renewed} renewed)"

    rerun = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await asyncio.wait_for(rerun.communicate(), timeout=300)
    assert rerun.returncode == 0, errors.decode()
    await _ledger_check(committed, 3000)
