"""`skypanel billing run`: a billing run from the command line, with a progress bar. The
operations it queues (suspensions, resumptions) are delivered as each batch commits."""

from __future__ import annotations

from datetime import datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from skypanel.billing.service import RunReport, run
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.models import ContainerSubscription
from skypanel.worker.context import worker_context


async def run_billing(settings: Settings, *, at: datetime | None, batch: int) -> RunReport:
    previous = clock.set_source(lambda: at) if at is not None else None
    try:
        async with worker_context(settings) as context:
            async with context.sessions() as session:
                due = await session.scalar(
                    select(func.count()).where(
                        ContainerSubscription.status == "active",
                        ContainerSubscription.current_period_end <= clock.now(),
                    )
                )
            with Progress(
                TextColumn("Renewing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            ) as progress:
                task = progress.add_task("renewals", total=due or 0)
                report = await run(
                    context.sessions,
                    batch=batch,
                    progress=lambda n: progress.advance(task, n),
                )
            return report
    finally:
        if previous is not None:
            clock.set_source(previous)
