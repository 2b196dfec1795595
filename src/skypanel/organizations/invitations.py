"""Invitations to an organization by email: sent by owners and admins, listed while pending,
sent again with a fresh link, revoked, and accepted by the invited address (an existing account
signed in with it, or a new account created from the invitation, its address thereby proven)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository as users
from skypanel.accounts import service as accounts
from skypanel.accounts import tokens
from skypanel.accounts.errors import EmailTaken
from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.errors import AppError, Conflict, Forbidden, NotFound
from skypanel.models import Membership, Organization, User
from skypanel.models.invitations import Invitation
from skypanel.notices import service as notices
from skypanel.organizations import repository
from skypanel.organizations.context import OrgContext
from skypanel.organizations.service import AlreadyMember
from skypanel.platform.service import get_setting

DAYS = tokens.INVITATION_TTL.days


class AlreadyInvited(Conflict):
    code = "ALREADY_INVITED"


class InvitationNotFound(NotFound):
    code = "INVITATION_NOT_FOUND"


class InvitationRevoked(AppError):
    code = "INVITATION_REVOKED"
    status = 410


class InvitationForAnotherAddress(Forbidden):
    code = "INVITATION_FOR_ANOTHER_ADDRESS"


async def pending(session: AsyncSession, org: OrgContext) -> Sequence[Invitation]:
    """The organization's invitations neither accepted, revoked nor expired, newest first."""
    org.require("owner", "admin")
    return (
        await session.scalars(
            _open(org.id)
            .where(Invitation.expires_at > clock.now())
            .order_by(Invitation.created_at.desc(), Invitation.id)
        )
    ).all()


async def invite(session: AsyncSession, org: OrgContext, email: str, role: str) -> Invitation:
    """Email `email` an invitation to join as `role` (only the owner invites admins)."""
    org.require("owner", "admin")
    if role == "admin" and org.role != "owner":
        raise Forbidden("Only the owner can invite an admin", field="role")
    email = email.strip().lower()
    member = await users.by_email(session, email)
    if member is not None and await repository.membership(session, org.id, member.id):
        raise AlreadyMember("This address already belongs to a member", field="email")
    earlier = await session.scalar(_open(org.id).where(Invitation.email == email).with_for_update())
    if earlier is not None:
        if earlier.expires_at > clock.now():
            raise AlreadyInvited("This address is already invited; send it again", field="email")
        earlier.revoked_at = clock.now()
        await session.flush()
    token, token_hash = tokens.new_token()
    invitation = Invitation(
        id=uuid.uuid4(),
        organization_id=org.id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by_id=org.user.id,
        expires_at=clock.now() + tokens.INVITATION_TTL,
    )
    session.add(invitation)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyInvited("This address is already invited", field="email") from exc
    await _send(session, org, invitation, token)
    await _log(session, org, "organization.invitation.send", f"{email} invited as {role}")
    return invitation


async def resend(session: AsyncSession, org: OrgContext, invitation_id: uuid.UUID) -> Invitation:
    """Send the invitation again with a new link, valid for 7 days from now (the old one stops
    working)."""
    invitation = await _pending_one(session, org, invitation_id)
    token, invitation.token_hash = tokens.new_token()
    invitation.expires_at = clock.now() + tokens.INVITATION_TTL
    await session.flush()
    await _send(session, org, invitation, token)
    await _log(session, org, "organization.invitation.resend", f"{invitation.email} invited again")
    return invitation


async def revoke(session: AsyncSession, org: OrgContext, invitation_id: uuid.UUID) -> None:
    invitation = await _pending_one(session, org, invitation_id)
    invitation.revoked_at = clock.now()
    await _log(session, org, "organization.invitation.revoke", f"{invitation.email} uninvited")


async def accept(session: AsyncSession, user: User, token: str) -> Organization:
    """The signed-in `user` joins through the invitation sent to their address."""
    invitation = await _usable(session, token)
    stored = await users.get(session, user.id)
    if stored is None or stored.email != invitation.email:
        raise InvitationForAnotherAddress(
            f"This invitation is for {invitation.email}; sign in with that address",
            field="token",
        )
    if await repository.membership(session, invitation.organization_id, stored.id):
        raise AlreadyMember("You are already a member of this organization", field="token")
    if stored.email_verified_at is None:
        stored.email_verified_at = clock.now()
    return await _join(session, invitation, stored)


async def accept_new(
    session: AsyncSession, settings: Settings, token: str, *, name: str, password: str
) -> tuple[User, Organization, accounts.IssuedTokens]:
    """A new account for the invited address (proven by the invitation), a member at once and
    signed in."""
    invitation = await _usable(session, token)
    if await users.by_email(session, invitation.email) is not None:
        raise EmailTaken(
            f"An account uses {invitation.email} already: sign in to accept", field="token"
        )
    user = await accounts.create_user(
        session, email=invitation.email, password=password, name=name, verified=True
    )
    organization = await _join(session, invitation, user)
    return user, organization, await accounts.new_sign_in(session, settings, user)


async def by_token(session: AsyncSession, token: str) -> tuple[Invitation, Organization]:
    """The invitation of a link and its organization, for the page that answers it."""
    invitation = await _usable(session, token)
    organization = await session.get(Organization, invitation.organization_id)
    assert organization is not None
    return invitation, organization


def _open(organization_id: uuid.UUID) -> Select[Invitation]:
    return select(Invitation).where(
        Invitation.organization_id == organization_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )


async def _pending_one(
    session: AsyncSession, org: OrgContext, invitation_id: uuid.UUID
) -> Invitation:
    org.require("owner", "admin")
    invitation = await session.scalar(
        _open(org.id).where(Invitation.id == invitation_id).with_for_update()
    )
    if invitation is None:
        raise InvitationNotFound("No pending invitation with this id")
    return invitation


async def _usable(session: AsyncSession, token: str) -> Invitation:
    invitation = await session.scalar(
        select(Invitation)
        .where(Invitation.token_hash == tokens.hash_token(token))
        .with_for_update()
    )
    if invitation is None:
        raise tokens.LinkInvalid(
            "This invitation link is not valid; it may have been sent again since",
            field="token",
        )
    if invitation.revoked_at is not None:
        raise InvitationRevoked("This invitation was withdrawn", field="token")
    tokens.check_usable(invitation.accepted_at, invitation.expires_at, clock.now())
    return invitation


async def _join(session: AsyncSession, invitation: Invitation, user: User) -> Organization:
    invitation.accepted_at = clock.now()
    session.add(
        Membership(
            id=uuid.uuid4(),
            organization_id=invitation.organization_id,
            user_id=user.id,
            role=invitation.role,
        )
    )
    await session.flush()
    organization = await session.get(Organization, invitation.organization_id)
    assert organization is not None
    await record(
        session,
        "organization.member.add",
        f"{user.email} joined as {invitation.role} by invitation",
        organization_id=organization.id,
        user_id=user.id,
        entity_type="user",
        entity_id=user.id,
    )
    return organization


async def _send(session: AsyncSession, org: OrgContext, invitation: Invitation, token: str) -> None:
    brand = await get_setting(session, "branding")
    await notices.emit(
        session,
        "organization.invitation",
        dedupe_key=f"organization.invitation:{invitation.id}:{invitation.token_hash[:16]}",
        organization_id=org.id,
        address=invitation.email,
        data={
            "inviter": org.user.name,
            "organization": org.organization.name,
            "role": invitation.role,
            "panel": brand.get("name") or "SkyPanel",
            "days": DAYS,
            "token": token,
        },
    )


async def _log(session: AsyncSession, org: OrgContext, event: str, message: str) -> None:
    await record(session, event, message, organization_id=org.id, user_id=org.user.id)
