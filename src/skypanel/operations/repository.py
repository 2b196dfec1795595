from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, any_, cast, exists, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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
    depends_on: list[uuid.UUID],
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
            depends_on=depends_on,
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


async def lock(
    session: AsyncSession, operation_id: uuid.UUID, *, skip_locked: bool = False
) -> EasypanelOperation | None:
    return await session.scalar(
        select(EasypanelOperation)
        .where(EasypanelOperation.id == operation_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )


_Op = aliased(EasypanelOperation)


def _unblocked() -> ColumnElement[bool]:
    """No earlier unfinished operation of the same subject, no unfinished dependency."""
    earlier = exists().where(
        _Op.subject_id == EasypanelOperation.subject_id,
        _Op.subject_type == EasypanelOperation.subject_type,
        _Op.status.in_(IN_FLIGHT),
        _Op.seq < EasypanelOperation.seq,
    )
    waiting = exists().where(
        _Op.id == any_(EasypanelOperation.depends_on), _Op.status.in_(IN_FLIGHT)
    )
    return ~earlier & ~waiting


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Pending operations whose time has come and that wait for nothing, oldest first."""
    return (
        await session.scalars(
            select(EasypanelOperation.id)
            .where(
                EasypanelOperation.status == "pending",
                EasypanelOperation.next_attempt_at <= now,
                _unblocked(),
            )
            .order_by(EasypanelOperation.seq)
            .limit(limit)
        )
    ).all()


async def unblocked_by(
    session: AsyncSession, finished: Sequence[uuid.UUID], now: datetime
) -> Sequence[uuid.UUID]:
    """Due operations that were waiting for these (same subject, or a dependency)."""
    subjects = select(EasypanelOperation.subject_id).where(
        EasypanelOperation.id.in_(finished), EasypanelOperation.subject_id.is_not(None)
    )
    return (
        await session.scalars(
            select(EasypanelOperation.id)
            .where(
                EasypanelOperation.status == "pending",
                EasypanelOperation.next_attempt_at <= now,
                or_(
                    EasypanelOperation.subject_id.in_(subjects),
                    EasypanelOperation.depends_on.overlap(
                        cast(list(finished), ARRAY(PG_UUID(as_uuid=True)))
                    ),
                ),
                _unblocked(),
            )
            .order_by(EasypanelOperation.seq)
        )
    ).all()


async def blocked(session: AsyncSession, operation: EasypanelOperation) -> bool:
    """Whether an earlier operation of its subject, or a dependency, is unfinished."""
    found = await session.scalar(
        select(EasypanelOperation.id).where(EasypanelOperation.id == operation.id, ~_unblocked())
    )
    return found is not None


async def failed_dependency(
    session: AsyncSession, operation: EasypanelOperation
) -> EasypanelOperation | None:
    if not operation.depends_on:
        return None
    return await session.scalar(
        select(EasypanelOperation)
        .where(
            EasypanelOperation.id.in_(operation.depends_on),
            EasypanelOperation.status.in_(("failed", "cancelled")),
        )
        .limit(1)
    )


async def in_flight_for(
    session: AsyncSession, subjects: list[tuple[str, uuid.UUID]]
) -> list[uuid.UUID]:
    """The unfinished operations of these subjects (what a new operation must wait for)."""
    if not subjects:
        return []
    return list(
        await session.scalars(
            select(EasypanelOperation.id).where(
                tuple_(EasypanelOperation.subject_type, EasypanelOperation.subject_id).in_(
                    subjects
                ),
                EasypanelOperation.status.in_(IN_FLIGHT),
            )
        )
    )


async def renew_lease(
    session: AsyncSession, operation_id: uuid.UUID, attempt: int, until: datetime
) -> bool:
    """Extend this delivery's lease; False when the operation is no longer this delivery's."""
    result = await session.execute(
        update(EasypanelOperation)
        .where(
            EasypanelOperation.id == operation_id,
            EasypanelOperation.status == "running",
            EasypanelOperation.attempts == attempt,
        )
        .values(lease_expires_at=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lease_expired(session: AsyncSession, now: datetime) -> Sequence[EasypanelOperation]:
    """Deliveries whose lease ran out (their worker stopped), locked for the caller."""
    return (
        await session.scalars(
            select(EasypanelOperation)
            .where(
                EasypanelOperation.status == "running",
                or_(
                    EasypanelOperation.lease_expires_at.is_(None),
                    EasypanelOperation.lease_expires_at < now,
                ),
            )
            .with_for_update(skip_locked=True)
            .limit(500)
        )
    ).all()


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
