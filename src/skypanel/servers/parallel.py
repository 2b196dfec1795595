"""Work done for every server that answers, a few servers at a time: a slow or failing server
holds up no other (the reconciliation, the health watch)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import EasypanelServer

log = structlog.get_logger(__name__)

AT_ONCE = 4
ANSWERING = ("active", "draining")
"""A `down` server is left to the health check until it answers; a `retired` one is gone."""


async def answering(session: AsyncSession) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(EasypanelServer.id)
            .where(EasypanelServer.state.in_(ANSWERING))
            .order_by(EasypanelServer.id)
        )
    ).all()


async def each_server(
    server_ids: Sequence[uuid.UUID],
    work: Callable[[uuid.UUID], Awaitable[None]],
    *,
    event: str,
    at_once: int = AT_ONCE,
) -> None:
    """Run `work` for each server, `at_once` at a time; a server's failure is logged as `event`
    and stops no other."""
    gate = asyncio.Semaphore(at_once)

    async def one(server_id: uuid.UUID) -> None:
        async with gate:
            try:
                await work(server_id)
            except Exception:
                log.exception(event, server=str(server_id))

    await asyncio.gather(*(one(server_id) for server_id in server_ids))
