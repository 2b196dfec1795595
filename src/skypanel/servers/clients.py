"""One long-lived `EasypanelClient` per server, rebuilt when its settings change; calls audited;
and each server's task counts, read once for every view that needs them within a few seconds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import CallRecord, EasypanelClient, EasypanelUnavailable, Timeouts
from skypanel.kit import clock
from skypanel.kit.context import current_request_id
from skypanel.kit.crypto import SecretPlace, decrypt_secret
from skypanel.kit.db import transaction
from skypanel.models import EasypanelAuditLog, EasypanelServer
from skypanel.servers import repository

log = structlog.get_logger(__name__)

TASKS_TTL = 2.0
"""How long a server's task counts are shared by the views of one process."""

TaskCounts = Mapping[str, tuple[int, int]]
"""Every service's (desired, actual) tasks on a server, by Swarm service name."""


@dataclass(frozen=True, slots=True)
class AuditScope:
    """What an Easypanel call is done for, recorded with it in `easypanel_audit_log`."""

    organization_id: uuid.UUID | None = None
    operation_id: uuid.UUID | None = None
    resource_type: str = "platform"
    resource_name: str = ""


_scope: ContextVar[AuditScope | None] = ContextVar("skypanel_audit_scope", default=None)


@contextmanager
def audit_scope(scope: AuditScope) -> Iterator[None]:
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def api_key_place(server_id: uuid.UUID) -> SecretPlace:
    return SecretPlace("easypanel_config", "api_key_encrypted", str(server_id))


class NoServer(EasypanelUnavailable):
    code = "EASYPANEL_NOT_CONFIGURED"
    status = 503


class ClientPool:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], timeouts: Timeouts | None = None
    ) -> None:
        self.sessions = sessions
        self.timeouts = timeouts
        self._clients: dict[uuid.UUID, tuple[object, EasypanelClient]] = {}
        self._counts: dict[uuid.UUID, tuple[float, TaskCounts]] = {}
        self._counting: dict[uuid.UUID, tuple[float, asyncio.Future[TaskCounts]]] = {}

    async def task_counts(
        self, client: EasypanelClient, server_id: uuid.UUID, changed: datetime | None = None
    ) -> TaskCounts:
        """The server's task counts, read from Easypanel at most once every `TASKS_TTL` seconds
        by this process and once at a time (the views that ask meanwhile share the read under
        way), but read again for a view of a service changed (`changed`) after they were read.

        A server lists every service it runs (200,000 in the benchmark): the counts are kept
        decoded here, once, rather than in the shared cache, which would decode them anew for
        every service of every view (bench/RESULTS.md)."""
        now = clock.now().timestamp()
        # A change stamped ahead of this process's clock (another host's) asks for no read
        # newer than one starting now.
        since = 0.0 if changed is None else min(changed.timestamp(), now)
        kept = self._counts.get(server_id)
        if kept is not None and now - kept[0] < TASKS_TTL and kept[0] >= since:
            return kept[1]
        running = self._counting.get(server_id)
        if running is None or running[0] < since:
            read = asyncio.ensure_future(self._count(client, server_id, now))
            read.add_done_callback(_retrieved)
            running = (now, read)
            self._counting[server_id] = running
        return await asyncio.shield(running[1])

    async def _count(self, client: EasypanelClient, server_id: uuid.UUID, at: float) -> TaskCounts:
        try:
            stats = await client.get_task_stats()
        finally:
            running = self._counting.get(server_id)
            if running is not None and running[0] == at:
                del self._counting[server_id]
        counts = {name: (s.desired, s.actual) for name, s in stats.items()}
        kept = self._counts.get(server_id)
        if kept is None or kept[0] <= at:
            self._counts[server_id] = (at, counts)
        return counts

    async def client_for(self, server_id: uuid.UUID | None) -> EasypanelClient:
        """The client of a server (None: the default server)."""
        async with self.sessions() as session:
            server = (
                await repository.default_server(session)
                if server_id is None
                else await repository.get(session, server_id)
            )
        if server is None:
            raise NoServer("No active Easypanel server is configured", retryable=True)
        return await self.client_of(server)

    async def client_of(self, server: EasypanelServer) -> EasypanelClient:
        """The client of a server row already read."""
        if not server.active:
            raise NoServer("No active Easypanel server is configured", retryable=True)
        version = (server.api_url, server.api_key_encrypted, server.dialect)
        cached = self._clients.get(server.id)
        if cached and cached[0] == version:
            return cached[1]
        client = build_client(server, timeouts=self.timeouts, on_call=self._audit(server.id))
        self._clients[server.id] = (version, client)
        if cached:
            await cached[1].aclose()
        return client

    def _audit(self, server_id: uuid.UUID) -> Callable[[CallRecord], Awaitable[None]]:
        async def write(record: CallRecord) -> None:
            scope = _scope.get() or AuditScope()
            try:
                async with transaction(self.sessions) as session:
                    session.add(
                        EasypanelAuditLog(
                            id=uuid.uuid4(),
                            organization_id=scope.organization_id,
                            server_id=server_id,
                            operation_id=scope.operation_id,
                            operation=record.procedure,
                            resource_type=scope.resource_type,
                            resource_name=scope.resource_name,
                            request_id=current_request_id() or "-",
                            request_data=record.request,
                            response_data=record.response,
                            response_status=record.status_code,
                            error_message=record.error_message,
                            elapsed_ms=round(record.elapsed_ms),
                        )
                    )
            except Exception:
                log.exception("easypanel.audit_write_failed", procedure=record.procedure)

        return write

    async def aclose(self) -> None:
        reads = [read for _, read in self._counting.values()]
        for read in reads:
            read.cancel()
        await asyncio.gather(*reads, return_exceptions=True)
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._counts.clear()


def _retrieved(read: asyncio.Future[TaskCounts]) -> None:
    """A shared read's failure reaches the views that wait for it; when none waits any more
    (all cancelled), it is not reported as never retrieved."""
    if not read.cancelled():
        read.exception()


def build_client(
    server: EasypanelServer,
    *,
    timeouts: Timeouts | None = None,
    on_call: Callable[[CallRecord], Awaitable[None]] | None = None,
) -> EasypanelClient:
    token = decrypt_secret(server.api_key_encrypted, api_key_place(server.id))
    return EasypanelClient(
        server.api_url,
        token,
        dialect=server.dialect,  # type: ignore[arg-type]
        timeouts=timeouts,
        on_call=on_call,
    )
