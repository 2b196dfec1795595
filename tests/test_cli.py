"""The `skypanel` command, run as a user runs it: a separate process on a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import pytest

from tests.conftest import create_database, drop_database


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    yield url
    drop_database(server_url, url)


def _skypanel(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKYPANEL_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "skypanel", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(sql)
    finally:
        await connection.close()


async def test_migrate_then_create_admin(fresh_database: str) -> None:
    migrated = _skypanel(fresh_database, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "latest migration" in migrated.stdout
    again = _skypanel(fresh_database, "migrate")
    assert again.returncode == 0

    created = _skypanel(fresh_database, "create-admin", "--email", "Root@Example.com")
    assert created.returncode == 0, created.stderr
    assert "Created administrator" in created.stdout
    password = created.stdout.split("Password: ")[1].strip()
    assert len(password) >= 16
    rows = await _fetch(fresh_database, "SELECT email, role, password_hash FROM users")
    assert [(r["email"], r["role"]) for r in rows] == [("root@example.com", "admin")]
    assert password not in rows[0]["password_hash"]

    promoted = _skypanel(
        fresh_database, "create-admin", "--email", "root@example.com", "--password", "x" * 12
    )
    assert "Updated administrator" in promoted.stdout
    assert "Password:" not in promoted.stdout
