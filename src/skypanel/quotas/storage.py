"""Disk the organization's services really use, from Easypanel's storage stats (one call a
minute per server, shared)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.easypanel import EasypanelError
from skypanel.kit.cache import Cache
from skypanel.models import ContainerProject, ContainerService

log = structlog.get_logger(__name__)
STATS_TTL = 60.0
GIB = 1024**3
_LOCKS: dict[str, asyncio.Lock] = {}


async def storage_rows(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(server, Easypanel project, Easypanel service) of each of the organization's services."""
    return (
        await session.execute(
            select(
                ContainerProject.server_id,
                ContainerProject.easypanel_project_name,
                ContainerService.easypanel_service_name,
            )
            .join(ContainerService, ContainerService.project_id == ContainerProject.id)
            .where(ContainerProject.organization_id == organization_id)
        )
    ).all()


async def measured_storage(request: Request, rows: Sequence[Row[*tuple[Any, ...]]]) -> float | None:
    """GB used by these services' volumes, or None when Easypanel cannot tell. Call it with no
    transaction open: it may wait for Easypanel."""
    if not rows:
        return 0.0
    cache: Cache = request.app.state.cache
    total = 0
    for server_id in {row[0] for row in rows}:
        sizes = await _sizes(request, cache, server_id)
        if sizes is None:
            return None
        total += sum(sizes.get(f"{row[1]}/{row[2]}", 0) for row in rows if row[0] == server_id)
    return round(total / GIB, 3)


async def _sizes(request: Request, cache: Cache, server_id: uuid.UUID) -> dict[str, int] | None:
    """One request per server fetches the stats; concurrent ones wait for its answer."""
    key = f"storage:{server_id}"
    found: dict[str, int] | None = await cache.get(key)
    if found is not None:
        return found
    async with _LOCKS.setdefault(key, asyncio.Lock()):
        found = await cache.get(key)
        return found if found is not None else await _fetch(request, cache, server_id, key)


async def _fetch(
    request: Request, cache: Cache, server_id: uuid.UUID, key: str
) -> dict[str, int] | None:
    try:
        client = await request.app.state.clients.client_for(server_id)
        stats = await client.get_storage_stats()
    except EasypanelError as exc:
        log.warning("storage_stats.unavailable", error=exc.code)
        return None
    sizes: dict[str, int] = {}
    for stat in stats:
        where = f"{stat.project_name}/{stat.service_name}"
        sizes[where] = sizes.get(where, 0) + stat.size
    await cache.set(key, sizes, STATS_TTL)
    return sizes
