"""The real job queue: a worker process loop picks up a deferred billing run and does it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import procrastinate
from bench.seed import seed_due_subscriptions
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import Settings
from skypanel.worker.run import run_worker
from skypanel.worker.tasks import app, billing_run
from tests.support import make_plan


async def test_a_worker_runs_a_deferred_billing_run(
    committed: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    plan = await make_plan(committed, price_cents=900)
    due = datetime.now(UTC) - timedelta(hours=1)
    await seed_due_subscriptions(committed, count=3, plan_id=plan, due=due, balance_cents=1000)
    assert settings.database_url is not None
    connector = procrastinate.PsycopgConnector(conninfo=settings.database_url)
    with app.replace_connector(connector):
        async with app.open_async():
            await billing_run.defer_async(timestamp=0)
    worker = asyncio.create_task(run_worker(settings, concurrency=1))
    try:
        for _ in range(200):
            await asyncio.sleep(0.1)
            async with committed() as session:
                renewed = await session.scalar(
                    text("SELECT count(*) FROM container_billing_cycles WHERE status = 'billed'")
                )
                status = await session.scalar(
                    text(
                        "SELECT status FROM procrastinate_jobs"
                        " WHERE task_name LIKE '%.billing_run' ORDER BY id LIMIT 1"
                    )
                )
            if renewed == 3 and status == "succeeded":
                break
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert (renewed, status) == (3, "succeeded")
