"""Every minute: test each server in service; three failures in a row mark it `down`, the next
success brings it back to `active` and makes the operations held while it was down due at once.
A draining server stays draining either way."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.activity.service import record
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation, EasypanelServer
from skypanel.servers import readings, repository
from skypanel.servers.degraded import ServerDown

log = structlog.get_logger(__name__)

FAILURES_BEFORE_DOWN = 3


@dataclass
class HealthReport:
    checked: int = 0
    down: list[uuid.UUID] = field(default_factory=list)
    recovered: list[uuid.UUID] = field(default_factory=list)


async def check_servers(sessions: async_sessionmaker[AsyncSession]) -> HealthReport:
    """Test every server that is not retired (the calls run outside any transaction), then
    record each outcome in a transaction of its own."""
    async with sessions() as session:
        servers = await repository.in_service(session)
    outcomes = await asyncio.gather(
        *(readings.probe_saved(server) for server in servers), return_exceptions=True
    )
    report = HealthReport(checked=len(servers))
    for server, reading in zip(servers, outcomes, strict=True):
        if isinstance(reading, BaseException):
            log.error("easypanel.health_check_crashed", server=server.name, exc_info=reading)
            continue
        async with transaction(sessions) as session:
            locked = await repository.get(session, server.id, lock=True)
            if locked is None or locked.state == "retired":
                continue
            await _judge(session, locked, reading, report)
    return report


async def _judge(
    session: AsyncSession, server: EasypanelServer, reading: readings.Reading, report: HealthReport
) -> None:
    readings.remember(server, reading)
    if reading.result.ok:
        server.consecutive_failures = 0
        if server.state == "down":
            server.state = "active"
            report.recovered.append(server.id)
            await _release_held(session, server)
            await _note(session, server, "up", f"Easypanel server {server.name} answers again")
        return
    server.consecutive_failures += 1
    if server.state == "active" and server.consecutive_failures >= FAILURES_BEFORE_DOWN:
        server.state = "down"
        report.down.append(server.id)
        log.warning("easypanel.server_down", server=server.name, error=server.last_error)
        await _note(
            session,
            server,
            "down",
            f"Easypanel server {server.name} is down after {server.consecutive_failures}"
            f" failed checks: {server.last_error}; it takes no new subscriptions",
        )


async def _release_held(session: AsyncSession, server: EasypanelServer) -> None:
    """The operations the runner held while the server was down are due now."""
    await session.execute(
        update(EasypanelOperation)
        .where(
            EasypanelOperation.server_id == server.id,
            EasypanelOperation.status == "pending",
            EasypanelOperation.last_error_code == ServerDown.code,
        )
        .values(next_attempt_at=clock.now())
    )


async def _note(session: AsyncSession, server: EasypanelServer, verb: str, message: str) -> None:
    await record(
        session,
        f"easypanel.server.{verb}",
        message,
        entity_type="easypanel_config",
        entity_id=server.id,
        metadata={"name": server.name, "failures": server.consecutive_failures},
        status="warning" if verb == "down" else "success",
    )
