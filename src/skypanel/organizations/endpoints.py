from __future__ import annotations

import uuid
from typing import cast

from fastapi import APIRouter, Response, status

from skypanel.accounts.auth import CurrentUser
from skypanel.accounts.schemas import UserOut
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.models import Organization
from skypanel.organizations import invitations, repository, service
from skypanel.organizations.auth import PathOrg
from skypanel.organizations.schemas import (
    AcceptIn,
    AcceptNewIn,
    InvitationIn,
    InvitationOut,
    MemberIn,
    MemberOut,
    MyOrganizationOut,
    OrganizationIn,
    OrganizationOut,
    RegisterOut,
    Role,
    RoleIn,
    TransferIn,
)

router = APIRouter(prefix="/api/organizations", tags=["organizations"])
invitations_router = APIRouter(prefix="/api/invitations", tags=["organizations"])


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


@router.get(
    "/{organization_id}/invitations",
    response_model=list[InvitationOut],
    responses=responses(401, 403, 404),
)
async def list_invitations(org: PathOrg, session: Session) -> list[InvitationOut]:
    """Invitations still waiting for an answer (owners and admins)."""
    return [InvitationOut.model_validate(i) for i in await invitations.pending(session, org)]


@router.post(
    "/{organization_id}/invitations",
    response_model=InvitationOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 422),
)
async def invite(body: InvitationIn, org: PathOrg, session: Session) -> InvitationOut:
    """Email an invitation to join (7 days); 409 when the address is a member or invited."""
    invitation = await invitations.invite(session, org, str(body.email), body.role)
    return InvitationOut.model_validate(invitation)


@router.post(
    "/{organization_id}/invitations/{invitation_id}/resend",
    response_model=InvitationOut,
    responses=responses(401, 403, 404),
)
async def resend_invitation(
    invitation_id: uuid.UUID, org: PathOrg, session: Session
) -> InvitationOut:
    """Send it again with a new link valid 7 days from now; the earlier link stops working."""
    return InvitationOut.model_validate(await invitations.resend(session, org, invitation_id))


@router.delete(
    "/{organization_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404),
)
async def revoke_invitation(invitation_id: uuid.UUID, org: PathOrg, session: Session) -> Response:
    await invitations.revoke(session, org, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@invitations_router.post(
    "/accept", response_model=MyOrganizationOut, responses=responses(400, 401, 403, 409, 410, 422)
)
async def accept_invitation(
    body: AcceptIn, user: CurrentUser, session: Session
) -> MyOrganizationOut:
    """Join as the signed-in account the invitation was sent to."""
    organization = await invitations.accept(session, user, body.token)
    found = await repository.membership(session, organization.id, user.id)
    assert found is not None
    return _mine(organization, found[1].role)


@invitations_router.post(
    "/accept-new",
    response_model=RegisterOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 409, 410, 422, 429),
)
async def accept_invitation_new(
    body: AcceptNewIn, session: Session, settings: AppSettings
) -> RegisterOut:
    """Create the account of the invited address, a member at once; returns signed-in tokens."""
    user, organization, issued = await invitations.accept_new(
        session, settings, body.token, name=body.name, password=body.password
    )
    return RegisterOut(
        user=UserOut.model_validate(user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        organization=OrganizationOut.model_validate(organization),
    )
