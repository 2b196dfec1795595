"""Password hashes: OWASP's argon2id parameters, old hashes made anew at sign-in, and the hashing
done off the event loop."""

from __future__ import annotations

import asyncio

import argon2
import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.accounts import security
from skypanel.accounts.security import hash_password, verify_password
from skypanel.models import User
from tests.support import PASSWORD, Account


async def test_a_hash_uses_owasps_parameters_and_verifies() -> None:
    hashed = await hash_password("correct horse battery")
    parameters = argon2.extract_parameters(hashed)
    assert (parameters.type, parameters.memory_cost, parameters.time_cost) == (
        argon2.Type.ID,
        19 * 1024,
        2,
    )
    assert parameters.parallelism == 1
    assert await verify_password(hashed, "correct horse battery")
    assert not await verify_password(hashed, "wrong horse battery")
    assert not await verify_password(None, "correct horse battery")
    assert not await verify_password("not a hash", "correct horse battery")


async def test_a_hash_made_with_the_old_parameters_signs_in_and_is_made_anew(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    old = argon2.PasswordHasher().hash(PASSWORD)
    async with db() as session:
        await session.execute(
            update(User).where(User.id == alice.user_id).values(password_hash=old)
        )
        await session.commit()
    response = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    async with db() as session:
        stored = await session.get(User, alice.user_id)
        assert stored is not None
        assert argon2.extract_parameters(stored.password_hash).memory_cost == 19 * 1024


async def test_hashing_leaves_the_event_loop_free() -> None:
    """A sign-in's hash takes tens of milliseconds on purpose; the process's other requests run
    meanwhile."""
    hashed = await hash_password("correct horse battery")
    ticks = 0
    checking = asyncio.ensure_future(verify_password(hashed, "correct horse battery"))
    while not checking.done():
        ticks += 1
        await asyncio.sleep(0)
    assert await checking
    assert ticks > 10


async def test_a_sign_in_with_an_unknown_email_checks_a_password_too(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise an unknown email is answered without the hash's tens of milliseconds, and the
    time of the answer tells which emails have accounts."""
    checked: list[bool] = []
    verify = security._verify

    def recorded(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash is None)
        return verify(password_hash, password)

    monkeypatch.setattr(security, "_verify", recorded)
    for email in ("nobody@example.com", alice.email):
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": "not the password"}
        )
        assert response.status_code == 401
    assert checked == [True, False]
