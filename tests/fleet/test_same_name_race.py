"""Customers who register at the same moment under the same name (as behind several web
processes) all get their account: the organization slug they would share is made unique."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import PASSWORD, count

SIMULTANEOUS = 8


async def test_simultaneous_registrations_under_one_name_all_succeed(
    live_client: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    bodies = [
        {"email": f"same-name-{n}@example.com", "password": PASSWORD, "name": "Same Name"}
        for n in range(SIMULTANEOUS)
    ]
    answers = await asyncio.gather(
        *(live_client.post("/api/auth/register", json=body) for body in bodies)
    )
    assert [answer.status_code for answer in answers] == [201] * SIMULTANEOUS, [
        answer.text for answer in answers if answer.status_code != 201
    ]
    slugs = {answer.json()["organization"]["slug"] for answer in answers}
    assert len(slugs) == SIMULTANEOUS
    assert "same-name-s-organization" in slugs
    assert await count(committed, "organizations") == SIMULTANEOUS
    assert await count(committed, "wallets") == SIMULTANEOUS
