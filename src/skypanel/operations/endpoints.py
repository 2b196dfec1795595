"""Admins: the operations that did not succeed, and what to do with them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.operations import admin
from skypanel.operations.schemas import OperationOut, OperationPage

router = APIRouter(prefix="/api/containers/admin/operations", tags=["admin"])
Status = Literal["pending", "running", "succeeded", "failed", "cancelled"]


@router.get("", response_model=OperationPage, responses=responses(401, 403, 422))
async def list_operations(
    _: AdminUser,
    session: Session,
    status: Status | None = None,
    organization_id: Annotated[uuid.UUID | None, Query(alias="organizationId")] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OperationPage:
    """Operations newest first; `?status=failed` lists those that ended without succeeding."""
    rows = await admin.listed(
        session,
        status=status,
        organization_id=organization_id,
        kind=kind,
        cursor=cursor,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return OperationPage(
        items=[OperationOut.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.post(
    "/{operation_id}/retry", response_model=OperationOut, responses=responses(401, 403, 404, 409)
)
async def retry_operation(
    operation_id: uuid.UUID, user: AdminUser, session: Session
) -> OperationOut:
    """Deliver a failed or cancelled operation again, with a fresh set of attempts."""
    return OperationOut.model_validate(await admin.retry(session, user, operation_id))


@router.post(
    "/{operation_id}/cancel", response_model=OperationOut, responses=responses(401, 403, 404, 409)
)
async def cancel_operation(
    request: Request, operation_id: uuid.UUID, user: AdminUser, session: Session
) -> OperationOut:
    """Never deliver a pending operation (its service shows it was cancelled), or acknowledge a
    failed one."""
    cancelled = await admin.cancel(session, request.app.state.runner, user, operation_id)
    return OperationOut.model_validate(cancelled)
