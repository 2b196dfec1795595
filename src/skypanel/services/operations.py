"""Operations on single services: stop and start (suspension, resumption) and destroy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import clock
from skypanel.models import ContainerService, EasypanelOperation
from skypanel.operations.service import OperationContext, handler
from skypanel.services import workload


def _where(operation: EasypanelOperation) -> tuple[str, str, str]:
    payload = operation.payload
    return payload["type"], payload["project"], payload["service"]


async def _set_status(session: AsyncSession, operation: EasypanelOperation, status: str) -> None:
    if operation.subject_id is not None:
        await session.execute(
            update(ContainerService)
            .where(ContainerService.id == operation.subject_id)
            .values(status=status, updated_at=clock.now())
        )


async def _stopped(session: AsyncSession, operation: EasypanelOperation) -> None:
    await _set_status(session, operation, "stopped")


async def _started(session: AsyncSession, operation: EasypanelOperation) -> None:
    await _set_status(session, operation, "running")


@handler("easypanel.service.stop", on_success=_stopped)
async def stop_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    await workload.stop(ctx.client, *_where(operation))
    return {}


@handler("easypanel.service.start", on_success=_started)
async def start_service(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    await workload.start(ctx.client, *_where(operation))
    return {}
