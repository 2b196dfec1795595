"""`Idempotency-Key` claimed in the request's own transaction: a request that crashed or failed
leaves the key usable at once, one in flight answers 409, a finished one is replayed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.http import idempotency
from skypanel.subscriptions import service
from tests.support import (
    Account,
    balance,
    clock_at,
    count,
    make_plan,
)

PATH = "/api/containers/subscription"


class Held:
    """Stands in for `service.subscribe` for the first request only: it notes the database
    connection of the request's transaction and waits there until released."""

    def __init__(self, real: Callable[..., Awaitable[Any]]) -> None:
        self.real = real
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.backend: int | None = None
        self.calls = 0

    async def __call__(self, session: AsyncSession, *args: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.backend = await session.scalar(text("SELECT pg_backend_pid()"))
            self.reached.set()
            await self.release.wait()
        return await self.real(session, *args)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Held:
    stand_in = Held(service.subscribe)
    monkeypatch.setattr(service, "subscribe", stand_in)
    return stand_in


async def _charges(committed: async_sessionmaker[AsyncSession], account: Account) -> int:
    return await count(
        committed, "payment_transactions", organization_id=account.organization_id, kind="debit"
    )


async def test_a_request_that_crashed_after_taking_its_key_leaves_the_key_usable_at_once(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    live_account: Account,
    held: Held,
) -> None:
    plan = await make_plan(committed, price_cents=700)
    headers = {**live_account.headers, "Idempotency-Key": f"crash-{uuid.uuid4()}"}
    body = {"planId": str(plan)}
    crashed = asyncio.create_task(live_client.post(PATH, headers=headers, json=body))
    await asyncio.wait_for(held.reached.wait(), 10)
    # The process dies between taking the key and charging: PostgreSQL ends its connection.
    async with committed() as admin:
        ended = await admin.scalar(
            text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": held.backend}
        )
    assert ended is True
    try:
        retried = await live_client.post(PATH, headers=headers, json=body)
        assert retried.status_code == 201, retried.text
        assert await balance(committed, live_account.organization_id) == 100_000 - 700
        assert await _charges(committed, live_account) == 1
    finally:
        crashed.cancel()
        with contextlib.suppress(BaseException):
            await crashed


async def test_a_request_in_flight_answers_409_and_a_finished_one_is_replayed(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    live_account: Account,
    held: Held,
) -> None:
    plan = await make_plan(committed, price_cents=700)
    other = await make_plan(committed, price_cents=900, name="Other")
    headers = {**live_account.headers, "Idempotency-Key": f"flight-{uuid.uuid4()}"}
    body = {"planId": str(plan)}
    first = asyncio.create_task(live_client.post(PATH, headers=headers, json=body))
    await asyncio.wait_for(held.reached.wait(), 10)
    during = await live_client.post(PATH, headers=headers, json=body)
    assert during.status_code == 409
    assert during.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    held.release.set()
    done = await first
    assert done.status_code == 201, done.text
    replay = await live_client.post(PATH, headers=headers, json=body)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == done.json()
    reused = await live_client.post(PATH, headers=headers, json={"planId": str(other)})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert held.calls == 1
    assert await balance(committed, live_account.organization_id) == 100_000 - 700
    assert await _charges(committed, live_account) == 1


async def _claim(session: AsyncSession, org: uuid.UUID, key: str, body: Any) -> object:
    return await idempotency.claim(session, org, "subscribe", key, body)


async def test_a_claim_lasts_as_long_as_its_transaction(
    committed: async_sessionmaker[AsyncSession], live_account: Account
) -> None:
    org, key, body = live_account.organization_id, f"tx-{uuid.uuid4()}", {"planId": "p"}
    async with committed() as first, committed() as second:
        assert isinstance(await _claim(first, org, key, body), idempotency.Claim)
        with pytest.raises(idempotency.KeyInFlight):
            await _claim(second, org, key, body)
        await second.rollback()
        await first.rollback()
        claim = await _claim(second, org, key, body)
        assert isinstance(claim, idempotency.Claim)
        await idempotency.store(second, claim, 201, {"done": True})
        await second.commit()
    assert await count(committed, "easypanel_idempotency_keys", idempotency_key=key) == 1
    async with committed() as third:
        assert await _claim(third, org, key, body) == idempotency.Replay(201, {"done": True})
        with pytest.raises(idempotency.KeyReused):
            await _claim(third, org, key, {"planId": "q"})


async def test_a_key_past_its_day_is_claimed_afresh(
    committed: async_sessionmaker[AsyncSession], live_account: Account
) -> None:
    org, key = live_account.organization_id, f"old-{uuid.uuid4()}"
    async with committed() as session:
        claim = await _claim(session, org, key, {"planId": "p"})
        assert isinstance(claim, idempotency.Claim)
        await idempotency.store(session, claim, 201, {"done": True})
        await session.commit()
    with clock_at(lambda: datetime.now(UTC) + timedelta(hours=24, seconds=1)):
        async with committed() as session:
            again = await _claim(session, org, key, {"planId": "q"})
            assert isinstance(again, idempotency.Claim)
            assert again.id != claim.id
            await session.commit()
    assert await count(committed, "easypanel_idempotency_keys", idempotency_key=key) == 1
