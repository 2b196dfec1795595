from __future__ import annotations

import procrastinate

from skypanel.config import Settings
from skypanel.worker.context import worker_context
from skypanel.worker.tasks import app


async def run_worker(settings: Settings, *, concurrency: int = 4) -> None:
    """Run a worker until cancelled; any number of workers may run, on any machines."""
    assert settings.database_url is not None
    connector = procrastinate.PsycopgConnector(conninfo=settings.database_url)
    with app.replace_connector(connector):
        async with worker_context(settings), app.open_async():
            await app.run_worker_async(concurrency=concurrency, install_signal_handlers=False)
