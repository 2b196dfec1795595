"""Commit the request's work, then make the first attempt at the Easypanel operations it queued."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.http.caching import invalidate
from skypanel.models import EasypanelOperation
from skypanel.operations.service import Runner


async def commit_and_deliver(
    request: Request,
    session: AsyncSession,
    operations: Iterable[EasypanelOperation],
    organization_id: uuid.UUID,
) -> list[str | None]:
    """No Easypanel call happens inside the transaction; what fails here the worker retries.
    The organization's cached reads are dropped once the change is made."""
    ids = [operation.id for operation in operations]
    await session.commit()
    runner: Runner = request.app.state.runner
    outcome = await runner.run_all(ids)
    await invalidate(request, organization_id)
    return outcome
