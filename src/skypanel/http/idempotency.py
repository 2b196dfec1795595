"""`Idempotency-Key` with Stripe's semantics, kept 24 hours per organization.

The same key and body replay the first (successful) response; the same key with another body
is refused (422); a request whose key is still being processed gets 409. A request that fails
releases its key, so the client may retry it with the same key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
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


async def begin(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    operation: str,
    key: str,
    body: Any,
) -> Claim | Replay:
    """Claim the key (committed at once, so concurrent requests see it) or replay its response."""
    request_hash = _hash(body)
    now = clock.now()
    async with transaction(sessions) as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.organization_id == organization_id,
                IdempotencyKey.operation == operation,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.expires_at <= now,
            )
        )
        claimed = await session.scalar(
            insert(IdempotencyKey)
            .values(
                id=uuid.uuid4(),
                organization_id=organization_id,
                operation=operation,
                idempotency_key=key,
                request_hash=request_hash,
                created_at=now,
                expires_at=now + TTL,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.id)
        )
        if claimed is not None:
            return Claim(claimed)
        existing = await session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.organization_id == organization_id,
                IdempotencyKey.operation == operation,
                IdempotencyKey.idempotency_key == key,
            )
        )
    if existing is None:
        raise KeyInFlight("This idempotency key is being processed; retry shortly")
    if existing.request_hash != request_hash:
        raise KeyReused("This idempotency key was used with a different request")
    if existing.response_status is None:
        raise KeyInFlight("A request with this idempotency key is still being processed")
    return Replay(existing.response_status, existing.response_data)


async def finish(
    sessions: async_sessionmaker[AsyncSession], claim: Claim, status: int, body: Any
) -> None:
    async with transaction(sessions) as session:
        row = await session.get(IdempotencyKey, claim.id)
        if row is not None:
            row.response_status = status
            row.response_data = body


async def release(sessions: async_sessionmaker[AsyncSession], claim: Claim) -> None:
    async with transaction(sessions) as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim.id))


async def purge_expired(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Forget keys past their 24 hours (the worker calls this hourly)."""
    async with transaction(sessions) as session:
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= clock.now())
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
