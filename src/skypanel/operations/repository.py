from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import EasypanelOperation
from skypanel.models.operations import IN_FLIGHT


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    server_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    payload: dict[str, Any],
    dedupe_key: str,
    subject: tuple[str, uuid.UUID] | None,
    request_id: str | None,
    max_attempts: int,
    now: datetime,
) -> EasypanelOperation:
    """Insert the operation, or return the identical one already in flight."""
    inserted = await session.scalar(
        insert(EasypanelOperation)
        .values(
            id=uuid.uuid4(),
            kind=kind,
            target=target,
            server_id=server_id,
            organization_id=organization_id,
            payload=payload,
            dedupe_key=dedupe_key,
            subject_type=subject[0] if subject else None,
            subject_id=subject[1] if subject else None,
            request_id=request_id,
            max_attempts=max_attempts,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[EasypanelOperation.dedupe_key],
            index_where=text("status IN ('pending', 'running')"),
        )
        .returning(EasypanelOperation.id)
    )
    operation_id = inserted or await session.scalar(
        select(EasypanelOperation.id).where(
            EasypanelOperation.dedupe_key == dedupe_key,
            EasypanelOperation.status.in_(IN_FLIGHT),
        )
    )
    operation = await session.get(EasypanelOperation, operation_id)
    assert operation is not None
    return operation


async def lock(session: AsyncSession, operation_id: uuid.UUID) -> EasypanelOperation | None:
    return await session.scalar(
        select(EasypanelOperation)
        .where(EasypanelOperation.id == operation_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(EasypanelOperation.id)
            .where(
                EasypanelOperation.status == "pending", EasypanelOperation.next_attempt_at <= now
            )
            .order_by(EasypanelOperation.next_attempt_at)
            .limit(limit)
        )
    ).all()


async def release_stuck(session: AsyncSession, started_before: datetime, now: datetime) -> int:
    """Operations left `running` by a crashed worker go back to `pending`."""
    result = await session.execute(
        update(EasypanelOperation)
        .where(
            EasypanelOperation.status == "running",
            EasypanelOperation.started_at < started_before,
        )
        .values(status="pending", next_attempt_at=now, updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def for_subject(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID
) -> Sequence[EasypanelOperation]:
    return (
        await session.scalars(
            select(EasypanelOperation)
            .where(
                EasypanelOperation.subject_type == subject_type,
                EasypanelOperation.subject_id == subject_id,
            )
            .order_by(EasypanelOperation.created_at)
        )
    ).all()


async def save_payload(
    session: AsyncSession, operation_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    await session.execute(
        update(EasypanelOperation)
        .where(EasypanelOperation.id == operation_id)
        .values(payload=payload)
    )
