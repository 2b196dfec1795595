from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import EasypanelServer


async def default_server(session: AsyncSession, *, lock: bool = False) -> EasypanelServer | None:
    query = select(EasypanelServer).where(EasypanelServer.is_default)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def get(session: AsyncSession, server_id: uuid.UUID) -> EasypanelServer | None:
    return await session.get(EasypanelServer, server_id)
