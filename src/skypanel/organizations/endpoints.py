from __future__ import annotations

import uuid
from typing import cast

from fastapi import APIRouter, Response, status

from skypanel.accounts.auth import CurrentUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.models import Organization
from skypanel.organizations import repository, service
from skypanel.organizations.auth import PathOrg
from skypanel.organizations.schemas import (
    MemberIn,
    MemberOut,
    MyOrganizationOut,
    OrganizationIn,
    Role,
    RoleIn,
    TransferIn,
)

router = APIRouter(prefix="/api/organizations", tags=["organizations"])


def _mine(org: Organization, role: str) -> MyOrganizationOut:
    return MyOrganizationOut(
        id=org.id,
        name=org.name,
        slug=org.slug,
        personal=org.personal,
        created_at=org.created_at,
        role=cast(Role, role),
    )


@router.get("", response_model=list[MyOrganizationOut], responses=responses(401))
async def list_mine(user: CurrentUser, session: Session) -> list[MyOrganizationOut]:
    """The organizations the caller belongs to, with the caller's role in each."""
    return [
        _mine(org, member.role) for org, member in await repository.memberships_of(session, user.id)
    ]


@router.post(
    "",
    response_model=MyOrganizationOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 422),
)
async def create(body: OrganizationIn, user: CurrentUser, session: Session) -> MyOrganizationOut:
    """A new organization owned by the caller, with an empty wallet."""
    org = await service.create_organization(session, user, body.name)
    return _mine(org, "owner")


@router.get(
    "/{organization_id}/members", response_model=list[MemberOut], responses=responses(401, 404)
)
async def list_members(org: PathOrg, session: Session) -> list[MemberOut]:
    return [
        MemberOut(
            user_id=u.id,
            email=u.email,
            name=u.name,
            role=cast(Role, m.role),
            joined_at=m.created_at,
        )
        for m, u in await repository.members(session, org.id)
    ]


@router.post(
    "/{organization_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def add_member(body: MemberIn, org: PathOrg, session: Session) -> MemberOut:
    """Add an existing account to the organization (owners and admins)."""
    member, member_user = await service.add_member(session, org, str(body.email), body.role)
    return MemberOut(
        user_id=member_user.id,
        email=member_user.email,
        name=member_user.name,
        role=body.role,
        joined_at=member.created_at,
    )


@router.put(
    "/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409, 422),
)
async def change_role(user_id: uuid.UUID, body: RoleIn, org: PathOrg, session: Session) -> Response:
    await service.change_role(session, org, user_id, body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409),
)
async def remove_member(user_id: uuid.UUID, org: PathOrg, session: Session) -> Response:
    """Remove a member, or leave the organization (your own user id)."""
    await service.remove_member(session, org, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{organization_id}/transfer",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
)
async def transfer(body: TransferIn, org: PathOrg, session: Session) -> Response:
    """Make another member the owner; the current owner becomes an admin."""
    await service.transfer_ownership(session, org, body.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
