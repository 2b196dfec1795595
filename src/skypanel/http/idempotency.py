"""`Idempotency-Key` with Stripe's semantics, kept 24 hours per organization.

The same key and body replay the first (successful) response; the same key with another body
is refused (422); a request made while another with the same key is being processed gets 409.

The key is claimed in the request's own transaction, as an inbox row committed with the work:
`claim` takes a transaction-scoped advisory lock on (organization, operation, key) and writes the
key's row, `store` records the response on it, and the row commits with the work or not at all.
A request that fails rolls the row back and a crashed one leaves nothing either (PostgreSQL
ends the dead connection's transaction, and its lock with it), so the client may retry at once
with the same key. A committed row without a response only exists while a route commits its
work before it has stored its response; it answers 409 like a request in flight.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.kit.errors import AppError, Conflict
from skypanel.models import IdempotencyKey

TTL = timedelta(hours=24)


class KeyReused(AppError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422


class KeyInFlight(Conflict):
    code = "IDEMPOTENCY_KEY_IN_FLIGHT"


@dataclass(frozen=True, slots=True)
class Claim:
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _lock(organization_id: uuid.UUID, operation: str, key: str) -> int:
    """The advisory lock (a signed 64-bit number) of one key of one operation."""
    digest = hashlib.sha256(f"idempotency\0{organization_id}\0{operation}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def claim(
    session: AsyncSession, organization_id: uuid.UUID, operation: str, key: str, body: Any
) -> Claim | Replay:
    """Take the key for the transaction of `session` (the request's own), or replay the
    response stored for it. Raises KeyInFlight (409) while another transaction holds the key
    and KeyReused (422) when it was used with another body. After a Claim, the route must
    `store` its response in the same transaction."""
    taken = await session.scalar(
        select(func.pg_try_advisory_xact_lock(_lock(organization_id, operation, key)))
    )
    if not taken:
        raise KeyInFlight("A request with this idempotency key is still being processed")
    now = clock.now()
    this_key = (
        IdempotencyKey.organization_id == organization_id,
        IdempotencyKey.operation == operation,
        IdempotencyKey.idempotency_key == key,
    )
    await session.execute(delete(IdempotencyKey).where(*this_key, IdempotencyKey.expires_at <= now))
    request_hash = _hash(body)
    existing = (
        await session.execute(
            select(
                IdempotencyKey.request_hash,
                IdempotencyKey.response_status,
                IdempotencyKey.response_data,
            ).where(*this_key)
        )
    ).one_or_none()
    if existing is not None:
        if existing.request_hash != request_hash:
            raise KeyReused("This idempotency key was used with a different request")
        if existing.response_status is None:
            raise KeyInFlight("A request with this idempotency key is still being processed")
        return Replay(existing.response_status, existing.response_data)
    # Under the lock no other transaction can write this key; the unique constraint still
    # stands behind it.
    claimed = uuid.uuid4()
    await session.execute(
        insert(IdempotencyKey).values(
            id=claimed,
            organization_id=organization_id,
            operation=operation,
            idempotency_key=key,
            request_hash=request_hash,
            created_at=now,
            expires_at=now + TTL,
        )
    )
    return Claim(claimed)


async def store(session: AsyncSession, claim: Claim, status: int, body: Any) -> None:
    """Record the response to replay, in the transaction that claimed the key (it commits with
    the work, or not at all)."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.id)
        .values(response_status=status, response_data=body)
    )


async def purge_expired(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Forget keys past their 24 hours (the worker calls this hourly)."""
    async with transaction(sessions) as session:
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= clock.now())
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
