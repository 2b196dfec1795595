from __future__ import annotations

import procrastinate

from skypanel.config import Settings
from skypanel.worker.context import worker_context
from skypanel.worker.tasks import app


def job_queue(settings: Settings) -> procrastinate.App:
    assert settings.database_url is not None
    return app.with_connector(procrastinate.PsycopgConnector(conninfo=settings.database_url))


async def run_worker(settings: Settings, *, concurrency: int = 4) -> None:
    """Run a worker until cancelled: periodic tasks are scheduled by whichever worker runs."""
    queue = job_queue(settings)
    async with worker_context(settings), queue.open_async():
        await queue.run_worker_async(concurrency=concurrency, install_signal_handlers=False)
