"""The `skypanel` command, run as a user runs it: a separate process on a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from skypanel.config import new_encryption_key
from skypanel.kit.crypto import KeyRing, SecretPlace
from tests.conftest import create_database, drop_database


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    yield url
    drop_database(server_url, url)


def _skypanel(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKYPANEL_DATABASE_URL": database_url, **(env or {})}
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
    assert "Templates: 11 added, 0 updated, 0 unchanged." in migrated.stdout
    again = _skypanel(fresh_database, "migrate")
    assert again.returncode == 0
    assert "Templates: 0 added, 0 updated, 11 unchanged." in again.stdout

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


async def _execute(url: str, sql: str, *args: object) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def test_rotate_keys_reencrypts_under_the_first_key(fresh_database: str) -> None:
    assert _skypanel(fresh_database, "migrate").returncode == 0
    old, new = new_encryption_key(), new_encryption_key()
    old_ring, new_ring = KeyRing.parse(old), KeyRing.parse(new)
    ids = [uuid.uuid4(), uuid.uuid4()]
    for n, row_id in enumerate(ids):
        place = SecretPlace("easypanel_config", "api_key_encrypted", str(row_id))
        await _execute(
            fresh_database,
            "INSERT INTO easypanel_config (id, name, api_url, api_key_encrypted, api_key_last4,"
            " is_default) VALUES ($1, $2, 'https://ep.example.com', $3, 'abcd', $4)",
            row_id,
            f"server-{n}",
            old_ring.encrypt(f"api-key-{n}", place),
            n == 0,
        )
    env = {"SKYPANEL_ENCRYPTION_KEYS": f"{new},{old}"}
    rotated = _skypanel(fresh_database, "rotate-keys", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "easypanel_config.api_key_encrypted: 2 re-encrypted" in rotated.stdout

    rows = await _fetch(fresh_database, "SELECT id, api_key_encrypted FROM easypanel_config")
    for row in rows:
        place = SecretPlace("easypanel_config", "api_key_encrypted", str(row["id"]))
        assert row["api_key_encrypted"].startswith(f"v1:{new_ring.primary_kid}:")
        expected = f"api-key-{ids.index(row['id'])}"
        assert new_ring.decrypt(row["api_key_encrypted"], place) == expected

    again = _skypanel(fresh_database, "rotate-keys", env=env)
    assert "easypanel_config.api_key_encrypted: 0 re-encrypted" in again.stdout


async def test_rotate_keys_refuses_a_moved_ciphertext_and_changes_nothing(
    fresh_database: str,
) -> None:
    assert _skypanel(fresh_database, "migrate").returncode == 0
    old = new_encryption_key()
    ring = KeyRing.parse(old)
    first, second = uuid.uuid4(), uuid.uuid4()
    sealed_for_first = ring.encrypt(
        "key", SecretPlace("easypanel_config", "api_key_encrypted", str(first))
    )
    for row_id, is_default in ((first, True), (second, False)):
        await _execute(
            fresh_database,
            "INSERT INTO easypanel_config (id, name, api_url, api_key_encrypted, api_key_last4,"
            " is_default) VALUES ($1, $2, 'https://ep.example.com', $3, 'abcd', $4)",
            row_id,
            f"server-{row_id}",  # server names are unique
            sealed_for_first,
            is_default,
        )
    result = _skypanel(
        fresh_database,
        "rotate-keys",
        env={"SKYPANEL_ENCRYPTION_KEYS": f"{new_encryption_key()},{old}"},
    )
    assert result.returncode == 1
    assert f"row {second} does not decrypt" in result.stderr
    rows = await _fetch(fresh_database, "SELECT api_key_encrypted FROM easypanel_config")
    assert {r["api_key_encrypted"] for r in rows} == {sealed_for_first}


def test_migrate_runs_on_the_embedded_postgresql(tmp_path: Path) -> None:
    """`make run` on a machine without PostgreSQL: the embedded server takes every migration
    (it has no contrib extensions, so none may need one)."""
    env = {k: v for k, v in os.environ.items() if k != "SKYPANEL_DATABASE_URL"}
    env["SKYPANEL_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "skypanel", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "postgres").is_dir()
