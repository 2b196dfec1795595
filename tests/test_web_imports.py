"""What the web process loads: it starts, answers its readiness check and serves a page without
the libraries only other commands need (issue 17: a web process under load <= 200 MB)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from skypanel.config import Settings

NOT_IN_THE_WEB_PROCESS = ("alembic", "mako", "dns")
"""Alembic (with Mako) migrates, from the CLI; dnspython verifies a domain, loaded on the first
lookup."""

_START = """
import asyncio, json, sys
import httpx
from skypanel.app import create_app

async def main():
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            ready = await http.get("/readyz")
            page = await http.get("/login")
    loaded = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps({"ready": ready.status_code, "page": page.status_code, "loaded": loaded}))

asyncio.run(main())
"""


def test_the_web_process_starts_without_the_migration_and_dns_libraries(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    started = subprocess.run(
        [sys.executable, "-c", _START],
        env={**os.environ, "SKYPANEL_DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(started.stdout.strip().splitlines()[-1])
    assert (seen["ready"], seen["page"]) == (200, 200)
    assert [name for name in NOT_IN_THE_WEB_PROCESS if name in seen["loaded"]] == []
