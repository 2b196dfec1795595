"""Delivering operations to Easypanel: every operation ends, in order, delivered once at a time.

An operation is claimed in one short transaction (`running`, with a lease), delivered with no
transaction open, and its outcome recorded in another, under a real lock and only if the lease
is still this delivery's. Every exception ends the attempt: retryable failures come back with
backoff until the attempt cap, anything else fails for good with its reason, and a failed
operation stays visible to admins, who may retry or cancel it. The lease is renewed while the
handler works, so a long deploy is never delivered twice; a lease that runs out (a crashed
worker) is taken up again by the next sweep.

The operations of one subject (a service, a project) are delivered one at a time in the order
they were requested, and an operation waits for the ones it depends on (a service for its
project's creation), so a late retry can never undo a newer request.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.kit import clock, uow
from skypanel.kit.context import current_request_id
from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation
from skypanel.notices import service as notices
from skypanel.operations import repository
from skypanel.operations.schemas import OperationRef
from skypanel.servers import repository as servers
from skypanel.servers.clients import AuditScope, audit_scope
from skypanel.servers.degraded import ServerDown

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=30)
HEARTBEAT_SECONDS = 15.0
BACKOFF_BASE = 5.0
BACKOFF_MAX = 600.0
FOLLOW_LIMIT = 200
DOWN_RECHECK = timedelta(seconds=60)
"""How long an operation of a `down` server waits before it looks again (the health check's beat;
the check that finds the server back makes its operations due at once)."""


class ClientSource(Protocol):
    """Gives the Easypanel client of a server (see `skypanel.servers.clients`)."""

    async def client_for(self, server_id: uuid.UUID | None) -> EasypanelClient: ...


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What a handler gets: the server's client, and sessions for reads and checkpoints."""

    client: EasypanelClient
    sessions: async_sessionmaker[AsyncSession]

    async def checkpoint(self, operation: EasypanelOperation, **progress: Any) -> None:
        """Persist progress before a risky call, so a retry after a crash knows what was tried."""
        operation.payload = {**operation.payload, **progress}
        async with transaction(self.sessions) as session:
            await repository.save_payload(session, operation.id, operation.payload)


Run = Callable[[OperationContext, EasypanelOperation], Awaitable[dict[str, Any]]]
Effect = Callable[[AsyncSession, EasypanelOperation], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    """How to deliver operations of one kind, and what to record when they end (`on_failure`
    also runs when an admin cancels one)."""

    run: Run
    on_success: Effect | None = None
    on_failure: Effect | None = None
    locks: Effect | None = None
    """Locks what `on_failure` locks that comes before the operation in the lock order (its
    subscription: `skypanel.billing.service`). An admin's cancel takes these first, then the
    pending operation, which a cancellation holding the subscription may be cancelling too; it
    does not wait for an operation a worker holds (`skypanel.operations.admin.cancel`)."""


Handlers = Mapping[str, Handler]


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str
    retryable: bool
    at_once: bool = False
    """Retry without backoff (the delivery stopped; Easypanel did not refuse anything)."""


def _failed_fact(operation: EasypanelOperation) -> notices.Fact:
    """`operation.failed` for the webhooks: a change that did not happen on Easypanel."""
    return notices.Fact(
        "operation.failed",
        f"operation.failed:{operation.id}",
        {
            "operationId": str(operation.id),
            "kind": operation.kind,
            "target": operation.target,
            "code": operation.last_error_code,
            "error": operation.last_error,
            "attempts": operation.attempts,
        },
        operation.organization_id,
    )


def failure_of(exc: Exception) -> Failure:
    """Easypanel's own verdict; a lost database connection is worth retrying; anything else is
    a fault that another attempt would repeat."""
    if isinstance(exc, EasypanelError):
        return Failure(exc.code, exc.message, exc.retryable)
    described = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
        return Failure("INTERNAL_TRANSIENT", described, retryable=True)
    return Failure("INTERNAL_ERROR", described, retryable=False)


async def enqueue(
    session: AsyncSession,
    kind: str,
    target: str,
    *,
    server_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    payload: dict[str, Any] | None = None,
    subject: tuple[str, uuid.UUID] | None = None,
    after: Iterable[tuple[str, uuid.UUID]] = (),
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> EasypanelOperation:
    """Record an operation in the caller's transaction; it is delivered once that commits.

    `after` names subjects whose unfinished operations this one waits for."""
    operation = await repository.enqueue(
        session,
        kind=kind,
        target=target,
        server_id=server_id,
        organization_id=organization_id,
        payload=payload or {},
        dedupe_key=dedupe_key or f"{kind}:{server_id}:{target}",
        subject=subject,
        depends_on=await repository.in_flight_for(session, list(after)),
        request_id=current_request_id(),
        max_attempts=max_attempts,
        now=clock.now(),
    )
    uow.deliver(session, operation.id)
    return operation


def operation_ref(operation: EasypanelOperation) -> OperationRef:
    return OperationRef(id=operation.id, kind=operation.kind, status=operation.status)


def backoff(attempts: int) -> timedelta:
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class _Claimed:
    operation: EasypanelOperation
    attempt: int


class Runner:
    """Delivers operations: claim in one transaction, call Easypanel outside, record in another."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: ClientSource,
        handlers: Handlers,
        *,
        lease: timedelta = LEASE,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.clients = clients
        self.handlers = handlers
        self.lease = lease
        self.heartbeat_seconds = heartbeat_seconds

    async def run(self, operation_id: uuid.UUID) -> str | None:
        """Attempt one operation if it is due. Returns its status afterwards (None: not claimed,
        because it is not due, another delivery has it, or it waits for another operation)."""
        claimed = await self._claim(operation_id)
        if not isinstance(claimed, _Claimed):
            return claimed
        operation = claimed.operation
        spec = self.handlers.get(operation.kind)
        scope = AuditScope(
            organization_id=operation.organization_id,
            operation_id=operation.id,
            resource_type=operation.kind.split(".")[1],
            resource_name=operation.target,
        )
        heartbeat = asyncio.create_task(self._renew(claimed))
        try:
            if spec is None:
                raise LookupError(f"no handler for operation kind {operation.kind!r}")
            with audit_scope(scope):
                client = await self.clients.client_for(operation.server_id)
                result = await spec.run(OperationContext(client, self.sessions), operation)
        except Exception as exc:
            if not isinstance(exc, EasypanelError):
                log.exception("operation.crashed", kind=operation.kind, target=operation.target)
            return await self._fail(claimed, failure_of(exc))
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return await self._succeed(claimed, result)

    async def run_all(self, operation_ids: Sequence[uuid.UUID]) -> list[str | None]:
        """Attempt these operations, then whatever they unblocked (the next operation of the
        same subject, operations that waited for them). Returns the first ones' statuses."""
        statuses = [await self._guarded(operation_id) for operation_id in operation_ids]
        await self._follow(list(operation_ids))
        return statuses

    async def run_due(self, limit: int = 100) -> int:
        """Take up deliveries whose lease ran out, then attempt every due operation, one after
        the other (each worker's sweep; several workers share the work). Returns the attempts."""
        now = clock.now()
        await self._release_expired(now)
        async with transaction(self.sessions) as session:
            due = list(await repository.due(session, now, limit))
        await self.run_all(due)
        return len(due)

    async def _guarded(self, operation_id: uuid.UUID) -> str | None:
        """One attempt that never stops the caller's loop (the database may be what failed)."""
        try:
            return await self.run(operation_id)
        except Exception:
            log.exception("operation.delivery_error", operation_id=str(operation_id))
            return None

    async def _follow(self, finished: list[uuid.UUID]) -> None:
        attempted = set(finished)
        while finished and len(attempted) < FOLLOW_LIMIT:
            async with transaction(self.sessions) as session:
                unblocked = await repository.unblocked_by(session, finished, clock.now())
            finished = [operation_id for operation_id in unblocked if operation_id not in attempted]
            attempted.update(finished)
            for operation_id in finished:
                await self._guarded(operation_id)

    async def _claim(self, operation_id: uuid.UUID) -> _Claimed | str | None:
        async with transaction(self.sessions) as session:
            operation = await repository.lock(session, operation_id, skip_locked=True)
            now = clock.now()
            if (
                operation is None
                or operation.status != "pending"
                or operation.next_attempt_at > now
                or await repository.blocked(session, operation)
                or await self._held(session, operation, now)
            ):
                return None
            failed = await repository.failed_dependency(session, operation)
            if failed is not None:
                reason = f"It waited for {failed.kind} ({failed.target}), which did not succeed"
                await self._give_up(session, operation, Failure("DEPENDENCY_FAILED", reason, False))
                return operation.status
            operation.status = "running"
            operation.attempts += 1
            operation.started_at = operation.updated_at = now
            operation.lease_expires_at = now + self.lease
            await session.flush()
            session.expunge(operation)
            return _Claimed(operation, operation.attempts)

    @staticmethod
    async def _held(session: AsyncSession, operation: EasypanelOperation, now: datetime) -> bool:
        """An operation of a `down` server waits, its attempts unspent, until the server is back."""
        server = await (
            servers.get(session, operation.server_id)
            if operation.server_id is not None
            else servers.default_server(session)
        )
        if server is None or server.state != "down":
            return False
        operation.next_attempt_at = now + DOWN_RECHECK
        operation.last_error_code = ServerDown.code
        operation.last_error = f"Easypanel server {server.name} is down; this runs when it is back"
        operation.updated_at = now
        return True

    async def _renew(self, claimed: _Claimed) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with transaction(self.sessions) as session:
                    kept = await repository.renew_lease(
                        session, claimed.operation.id, claimed.attempt, clock.now() + self.lease
                    )
            except Exception:
                log.warning(
                    "operation.lease_renewal_failed", operation_id=str(claimed.operation.id)
                )
                continue
            if not kept:
                return

    async def _own(self, session: AsyncSession, claimed: _Claimed) -> EasypanelOperation | None:
        """The operation under a real lock, if this delivery still holds its lease."""
        operation = await repository.lock(session, claimed.operation.id)
        if (
            operation is None
            or operation.status != "running"
            or (operation.attempts != claimed.attempt)
        ):
            log.warning(
                "operation.lease_lost", kind=claimed.operation.kind, target=claimed.operation.target
            )
            return None
        return operation

    async def _succeed(self, claimed: _Claimed, result: dict[str, Any]) -> str | None:
        try:
            async with transaction(self.sessions) as session:
                operation = await self._own(session, claimed)
                if operation is None:
                    return None
                operation.status = "succeeded"
                operation.result = result
                operation.last_error = operation.last_error_code = None
                operation.finished_at = operation.updated_at = clock.now()
                operation.lease_expires_at = None
                self._touched(session, operation)
                spec = self.handlers.get(operation.kind)
                if spec is not None and spec.on_success is not None:
                    await spec.on_success(session, operation)
        except Exception as exc:
            log.exception("operation.record_failed", kind=claimed.operation.kind)
            return await self._fail(claimed, Failure("INTERNAL_TRANSIENT", str(exc)[:2000], True))
        log.info("operation.succeeded", kind=operation.kind, target=operation.target)
        return "succeeded"

    async def _fail(self, claimed: _Claimed, failure: Failure) -> str | None:
        async with transaction(self.sessions) as session:
            operation = await self._own(session, claimed)
            if operation is None:
                return None
            await self._record_failure(session, operation, failure)
        return operation.status

    async def _record_failure(
        self, session: AsyncSession, operation: EasypanelOperation, failure: Failure
    ) -> None:
        """Back to `pending` with backoff while worth it, else `failed` for good."""
        now = clock.now()
        operation.lease_expires_at = None
        if failure.retryable and operation.attempts < operation.max_attempts:
            operation.status = "pending"
            operation.last_error = failure.message[:2000]
            operation.last_error_code = failure.code
            operation.next_attempt_at = (
                now if failure.at_once else now + backoff(operation.attempts)
            )
            operation.updated_at = now
        else:
            await self._give_up(session, operation, failure)
        log.warning(
            "operation.attempt_failed",
            kind=operation.kind,
            target=operation.target,
            attempts=operation.attempts,
            status=operation.status,
            error_code=failure.code,
        )

    async def _give_up(
        self, session: AsyncSession, operation: EasypanelOperation, failure: Failure
    ) -> None:
        await self.end(session, operation, "failed", failure.code, failure.message)

    async def end(
        self, session: AsyncSession, operation: EasypanelOperation, status: str, code: str, why: str
    ) -> None:
        """Finish an operation that did not succeed (`failed`, or `cancelled` by an admin),
        recording why and letting its subject show it."""
        operation.status = status
        operation.last_error = why[:2000]
        operation.last_error_code = code
        operation.lease_expires_at = None
        operation.finished_at = operation.updated_at = clock.now()
        self._touched(session, operation)
        if status == "failed":
            await notices.record(session, [_failed_fact(operation)])
        spec = self.handlers.get(operation.kind)
        if spec is not None and spec.on_failure is not None:
            await spec.on_failure(session, operation)

    @staticmethod
    def _touched(session: AsyncSession, operation: EasypanelOperation) -> None:
        if operation.organization_id is not None:
            uow.stale_organization(session, operation.organization_id)

    async def _release_expired(self, now: datetime) -> None:
        async with transaction(self.sessions) as session:
            for operation in await repository.lease_expired(session, now):
                await self._record_failure(
                    session,
                    operation,
                    Failure(
                        "DELIVERY_INTERRUPTED",
                        "The delivery stopped before it finished (its worker may have stopped)",
                        retryable=True,
                        at_once=True,
                    ),
                )
