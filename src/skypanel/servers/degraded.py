"""What a customer's reads say while their Easypanel server does not answer: the recorded state
with a `degraded` note (never a 500 or a bare 502); what needs the server itself (logs) is a
clear 503 `SERVER_DOWN`. Their changes still queue; the runner holds them until it is back."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.errors import AppError
from skypanel.models import EasypanelServer
from skypanel.servers import repository
from skypanel.servers.schemas import Degraded


class ServerDown(AppError):
    code = "SERVER_DOWN"
    status = 503


async def server_of(session: AsyncSession, server_id: uuid.UUID) -> EasypanelServer:
    """The server a customer's resource lives on (it always exists: the foreign key says so)."""
    server = await repository.get(session, server_id)
    assert server is not None
    return server


def _recorded(server: EasypanelServer) -> str:
    if server.last_seen_at is None:
        return "what you see is what SkyPanel recorded"
    return f"what you see was recorded at {server.last_seen_at:%Y-%m-%d %H:%M} UTC or before"


def note(server: EasypanelServer) -> Degraded:
    return Degraded(
        server=server.name,
        since=server.last_seen_at,
        message=f"Easypanel server {server.name} is not answering; {_recorded(server)}; your"
        " changes are queued and run when it is back.",
    )


def when_down(server: EasypanelServer) -> Degraded | None:
    """The note while the health check holds the server `down`."""
    return note(server) if server.state == "down" else None


def refuse_when_down(server: EasypanelServer) -> None:
    """For reads only the server can answer (logs)."""
    if server.state == "down":
        raise ServerDown(
            f"Easypanel server {server.name} is not answering, so the logs cannot be read now;"
            " try again when it is back",
            server=server.name,
            since=server.last_seen_at.isoformat() if server.last_seen_at else None,
        )
