"""What admins do with operations that did not succeed: see them, retry them, cancel them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock, uow
from skypanel.kit.errors import Conflict, NotFound
from skypanel.kit.pagination import newest_first
from skypanel.models import EasypanelOperation, User
from skypanel.operations import repository
from skypanel.operations.service import Runner


class OperationNotFound(NotFound):
    code = "OPERATION_NOT_FOUND"


class OperationBusy(Conflict):
    code = "OPERATION_STATE"


async def listed(
    session: AsyncSession,
    *,
    status: str | None,
    organization_id: uuid.UUID | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[EasypanelOperation]:
    query = select(EasypanelOperation)
    if status is not None:
        query = query.where(EasypanelOperation.status == status)
    if organization_id is not None:
        query = query.where(EasypanelOperation.organization_id == organization_id)
    if kind is not None:
        query = query.where(EasypanelOperation.kind == kind)
    query = newest_first(
        query, EasypanelOperation.created_at, EasypanelOperation.id, cursor=cursor, limit=limit
    )
    return (await session.scalars(query)).all()


async def _locked(session: AsyncSession, operation_id: uuid.UUID) -> EasypanelOperation:
    operation = await repository.lock(session, operation_id)
    if operation is None:
        raise OperationNotFound("No such operation")
    return operation


async def _found(session: AsyncSession, operation_id: uuid.UUID) -> EasypanelOperation:
    operation = await session.get(EasypanelOperation, operation_id)
    if operation is None:
        raise OperationNotFound("No such operation")
    return operation


async def retry(session: AsyncSession, admin: User, operation_id: uuid.UUID) -> EasypanelOperation:
    """A failed or cancelled operation gets a fresh set of attempts, delivered after commit."""
    operation = await _locked(session, operation_id)
    if operation.status not in ("failed", "cancelled"):
        raise OperationBusy(
            f"Only a failed or cancelled operation can be retried ({operation.status})"
        )
    now = clock.now()
    operation.status = "pending"
    operation.attempts = 0
    operation.next_attempt_at = operation.updated_at = now
    operation.finished_at = None
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise OperationBusy("The same change is already queued; follow that one instead") from exc
    uow.deliver(session, operation.id)
    await _log(session, admin, operation, "retry", f"Operation {operation.kind} retried")
    return operation


async def cancel(
    session: AsyncSession, runner: Runner, admin: User, operation_id: uuid.UUID
) -> EasypanelOperation:
    """A pending operation will not be delivered (its subject shows why); a failed one is
    acknowledged. One being delivered cannot be cancelled.

    What the cancel's effects lock before the operation (`Handler.locks`: its subscription) is
    locked first, whatever the operation's state when it was read; a cancellation holding the
    subscription may be cancelling the operation too. The operation is then read again under
    its own lock, without waiting for it: a worker holding it is recording its outcome and
    waits for the subscription in turn."""
    found = await _found(session, operation_id)
    spec = runner.handlers.get(found.kind)
    if spec is not None and spec.locks is not None:
        await spec.locks(session, found)
        operation = await repository.lock(session, operation_id, skip_locked=True)
        if operation is None:
            raise OperationBusy(
                "The operation is being delivered or its outcome recorded; look again shortly"
            )
    else:
        operation = await _locked(session, operation_id)
    if operation.status == "pending":
        await runner.end(
            session, operation, "cancelled", "CANCELLED", "Cancelled by an administrator"
        )
    elif operation.status == "failed":
        operation.status = "cancelled"
        operation.updated_at = clock.now()
    else:
        raise OperationBusy(f"An operation that is {operation.status} cannot be cancelled")
    await _log(session, admin, operation, "cancel", f"Operation {operation.kind} cancelled")
    return operation


async def _log(
    session: AsyncSession, admin: User, operation: EasypanelOperation, action: str, message: str
) -> None:
    await record(
        session,
        f"container.operation.{action}",
        message,
        organization_id=operation.organization_id,
        user_id=admin.id,
        entity_type="easypanel_operation",
        entity_id=operation.id,
        metadata={"target": operation.target},
    )
