from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient, EasypanelError
from skypanel.kit import clock
from skypanel.kit.context import current_request_id
from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation
from skypanel.operations import repository
from skypanel.servers.clients import AuditScope, audit_scope

log = structlog.get_logger(__name__)

STUCK_AFTER = timedelta(minutes=10)
BACKOFF_BASE = 5.0
BACKOFF_MAX = 600.0


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
    run: Run
    on_success: Effect | None = None
    on_failure: Effect | None = None


HANDLERS: dict[str, Handler] = {}


def handler(
    kind: str, *, on_success: Effect | None = None, on_failure: Effect | None = None
) -> Callable[[Run], Run]:
    """Register how to deliver operations of one kind, and what to record when they end."""

    def register(run: Run) -> Run:
        HANDLERS[kind] = Handler(run, on_success, on_failure)
        return run

    return register


async def enqueue(
    session: AsyncSession,
    kind: str,
    target: str,
    *,
    server_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    payload: dict[str, Any] | None = None,
    subject: tuple[str, uuid.UUID] | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> EasypanelOperation:
    """Record an operation in the caller's transaction; deliver it with `Runner` after commit."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for operation kind {kind!r}")
    return await repository.enqueue(
        session,
        kind=kind,
        target=target,
        server_id=server_id,
        organization_id=organization_id,
        payload=payload or {},
        dedupe_key=dedupe_key or f"{kind}:{server_id}:{target}",
        subject=subject,
        request_id=current_request_id(),
        max_attempts=max_attempts,
        now=clock.now(),
    )


def backoff(attempts: int) -> timedelta:
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


class Runner:
    """Delivers operations: claim in one transaction, call Easypanel outside, record in another."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clients: ClientSource) -> None:
        self.sessions = sessions
        self.clients = clients

    async def run(self, operation_id: uuid.UUID) -> str | None:
        """Attempt one operation if it is due. Returns its status afterwards (None: not claimed)."""
        claimed = await self._claim(operation_id)
        if claimed is None:
            return None
        spec = HANDLERS[claimed.kind]
        scope = AuditScope(
            organization_id=claimed.organization_id,
            operation_id=claimed.id,
            resource_type=claimed.kind.split(".")[1],
            resource_name=claimed.target,
        )
        try:
            with audit_scope(scope):
                client = await self.clients.client_for(claimed.server_id)
                result = await spec.run(OperationContext(client, self.sessions), claimed)
        except EasypanelError as exc:
            return await self._fail(operation_id, exc)
        return await self._succeed(operation_id, result)

    async def run_all(self, operation_ids: list[uuid.UUID]) -> list[str | None]:
        return [await self.run(operation_id) for operation_id in operation_ids]

    async def run_due(self, limit: int = 100) -> int:
        """Release operations stuck in `running`, then attempt every due one. Returns attempts."""
        now = clock.now()
        async with transaction(self.sessions) as session:
            await repository.release_stuck(session, now - STUCK_AFTER, now)
            due = list(await repository.due(session, now, limit))
        await self.run_all(due)
        return len(due)

    async def _claim(self, operation_id: uuid.UUID) -> EasypanelOperation | None:
        async with transaction(self.sessions) as session:
            operation = await repository.lock(session, operation_id)
            now = clock.now()
            if (
                operation is None
                or operation.status != "pending"
                or operation.next_attempt_at > now
            ):
                return None
            operation.status = "running"
            operation.attempts += 1
            operation.started_at = now
            operation.updated_at = now
            await session.flush()
            session.expunge(operation)
            return operation

    async def _succeed(self, operation_id: uuid.UUID, result: dict[str, Any]) -> str:
        async with transaction(self.sessions) as session:
            operation = await repository.lock(session, operation_id)
            assert operation is not None
            operation.status = "succeeded"
            operation.result = result
            operation.last_error = None
            operation.last_error_code = None
            operation.finished_at = operation.updated_at = clock.now()
            effect = HANDLERS[operation.kind].on_success
            if effect:
                await effect(session, operation)
        log.info("operation.succeeded", kind=operation.kind, target=operation.target)
        return "succeeded"

    async def _fail(self, operation_id: uuid.UUID, error: EasypanelError) -> str:
        async with transaction(self.sessions) as session:
            operation = await repository.lock(session, operation_id)
            assert operation is not None
            now = clock.now()
            operation.last_error = error.message[:2000]
            operation.last_error_code = error.code
            operation.updated_at = now
            if error.retryable and operation.attempts < operation.max_attempts:
                operation.status = "pending"
                operation.next_attempt_at = now + backoff(operation.attempts)
            else:
                operation.status = "failed"
                operation.finished_at = now
                effect = HANDLERS[operation.kind].on_failure
                if effect:
                    await effect(session, operation)
        log.warning(
            "operation.attempt_failed",
            kind=operation.kind,
            target=operation.target,
            attempts=operation.attempts,
            status=operation.status,
            error_code=error.code,
        )
        return operation.status
