"""Moving an organization to another server (admins): the dry run, the start, the progress."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.moves import service
from skypanel.moves.schemas import MoveIn, MoveOut, PlanOut

router = APIRouter(prefix="/api/containers/admin/organizations", tags=["easypanel"])


@router.post(
    "/{organization_id}/move",
    response_model=PlanOut | MoveOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def move_organization(
    organization_id: uuid.UUID,
    body: MoveIn,
    _: AdminUser,
    session: Session,
    response: Response,
) -> PlanOut | MoveOut:
    """Move the organization to another server: with `dryRun` (the default) the steps in order
    and each service's downtime; without it the move starts (202) and its steps are queued."""
    if body.dry_run:
        return service.plan_out(await service.plan(session, organization_id, body.server_id))
    response.status_code = status.HTTP_202_ACCEPTED
    return service.move_out(await service.start(session, organization_id, body.server_id))


@router.get("/{organization_id}/moves", response_model=list[MoveOut], responses=responses(401, 403))
async def list_moves(organization_id: uuid.UUID, _: AdminUser, session: Session) -> list[MoveOut]:
    """The organization's moves, newest first, with how many of their steps are done."""
    return [service.move_out(move) for move in await service.moves_of(session, organization_id)]
