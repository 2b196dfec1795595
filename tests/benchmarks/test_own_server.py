"""The benchmarks' own PostgreSQL (`bench.support.own_server`): started with its settings in
force (shared buffers need the restart), named by `server_url` while it runs, and gone with its
files afterwards."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg  # type: ignore[import-untyped]
from bench.support import OWN_SERVER_SETTINGS, own_server, scratch_database, server_url


async def test_the_own_server_runs_with_its_settings_and_leaves_nothing_behind() -> None:
    before = os.environ.get("SKYPANEL_BENCH_DATABASE_URL")
    async with own_server() as (url, version):
        assert server_url() == url
        connection = await asyncpg.connect(url)
        try:
            shown = {n: await connection.fetchval(f"SHOW {n}") for n in OWN_SERVER_SETTINGS}
            assert version == await connection.fetchval("SHOW server_version")
        finally:
            await connection.close()
        async with scratch_database(migrate=False) as scratch:
            inside = await asyncpg.connect(scratch)
            assert await inside.fetchval("SELECT 1") == 1
            await inside.close()
        files = Path(parse_qs(urlparse(url).query)["host"][0])
        assert await asyncio.to_thread(files.exists)
    assert shown == OWN_SERVER_SETTINGS
    assert os.environ.get("SKYPANEL_BENCH_DATABASE_URL") == before
    assert not await asyncio.to_thread(files.exists)
