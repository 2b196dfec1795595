from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate
from procrastinate.worker import FETCH_JOB_POLLING_INTERVAL

from skypanel.config import Settings
from skypanel.kit.cache import Cache
from skypanel.worker.context import worker_context
from skypanel.worker.tasks import app

POLL_BEHIND_PGBOUNCER = 1.0
"""Seconds between looks at the job queue when workers cannot listen for new jobs."""


@asynccontextmanager
async def open_job_queue(settings: Settings) -> AsyncIterator[procrastinate.App]:
    """The job queue on the panel's database, open for deferring jobs and for working. Its
    connections open on demand, so a process starts (and says it is not ready) while the
    database is down."""
    assert settings.database_url is not None
    # Behind PgBouncer's transaction pooling, psycopg must not prepare statements server-side.
    connection = {"prepare_threshold": None} if settings.database_pgbouncer else {}
    connector = procrastinate.PsycopgConnector(
        conninfo=settings.database_url, min_size=0, max_size=4, kwargs=connection
    )
    with app.replace_connector(connector) as jobs:
        async with jobs.open_async():
            yield jobs


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 4,
    jobs: procrastinate.App | None = None,
    cache: Cache | None = None,
) -> None:
    """Run a worker until cancelled; any number of workers may run, on any machines. Inside the
    web process it shares that process's open job queue and cache."""
    if jobs is None:
        async with open_job_queue(settings) as opened:
            await _work(settings, opened, concurrency, cache)
    else:
        await _work(settings, jobs, concurrency, cache)


async def _work(
    settings: Settings, jobs: procrastinate.App, concurrency: int, cache: Cache | None
) -> None:
    # LISTEN needs a connection of its own, which transaction pooling does not give: poll.
    listen = not settings.database_pgbouncer
    async with worker_context(settings, cache):
        await jobs.run_worker_async(
            concurrency=concurrency,
            install_signal_handlers=False,
            listen_notify=listen,
            fetch_job_polling_interval=FETCH_JOB_POLLING_INTERVAL
            if listen
            else POLL_BEHIND_PGBOUNCER,
        )
