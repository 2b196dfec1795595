"""Organizations: creation with a wallet, members and roles, ownership transfer."""

from __future__ import annotations

import re
import secrets
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository as users
from skypanel.accounts import service as accounts
from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from skypanel.models import Membership, Organization, User
from skypanel.organizations import repository
from skypanel.organizations.context import OrgContext
from skypanel.wallet.service import new_wallet

_SLUG_CONSTRAINT = "uq_organizations_slug"


class MemberNotFound(NotFound):
    code = "MEMBER_NOT_FOUND"


class AlreadyMember(Conflict):
    code = "ALREADY_MEMBER"


class OwnerImmutable(Conflict):
    code = "OWNER_IMMUTABLE"


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return slug or "org"


async def _free_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    taken = await repository.slugs_like(session, base)
    for candidate in (base, *(f"{base}-{n}" for n in range(2, 100))):
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


async def create_organization(
    session: AsyncSession, owner: User, name: str, *, personal: bool = False
) -> Organization:
    organization = Organization(
        id=uuid.uuid4(), name=name, slug=await _free_slug(session, name), personal=personal
    )
    try:
        async with session.begin_nested():
            session.add(organization)
            await session.flush()
    except IntegrityError as exc:
        # Another organization of the same name took the free slug at the same moment.
        cause = getattr(exc.orig, "__cause__", None)
        if getattr(cause, "constraint_name", None) != _SLUG_CONSTRAINT:
            raise
        organization.slug = f"{slugify(name)}-{secrets.token_hex(3)}"
        session.add(organization)
        await session.flush()
    session.add(
        Membership(id=uuid.uuid4(), organization_id=organization.id, user_id=owner.id, role="owner")
    )
    session.add(new_wallet(organization.id))
    await session.flush()
    await record(
        session,
        "organization.create",
        f"Organization {organization.name} created",
        organization_id=organization.id,
        user_id=owner.id,
        entity_type="organization",
        entity_id=organization.id,
    )
    return organization


async def register(
    session: AsyncSession, settings: Settings, *, email: str, password: str, name: str
) -> tuple[User, Organization, accounts.IssuedTokens]:
    """A new user with a personal organization and its (empty) wallet, signed in."""
    user = await accounts.create_user(session, email=email, password=password, name=name)
    organization = await create_organization(session, user, f"{name}'s organization", personal=True)
    await record(
        session,
        "auth.register",
        f"{user.email} registered",
        organization_id=organization.id,
        user_id=user.id,
        entity_type="user",
        entity_id=user.id,
    )
    return user, organization, await accounts.new_sign_in(session, settings, user)


async def add_member(
    session: AsyncSession, org: OrgContext, email: str, role: str
) -> tuple[Membership, User]:
    org.require("owner", "admin")
    user = await users.by_email(session, email)
    if user is None:
        raise NotFound("No account with this email", field="email")
    if await repository.membership(session, org.id, user.id) is not None:
        raise AlreadyMember("This user is already a member", field="email")
    member = Membership(id=uuid.uuid4(), organization_id=org.id, user_id=user.id, role=role)
    session.add(member)
    await session.flush()
    await _log(session, org, "organization.member.add", f"{user.email} joined as {role}", user.id)
    return member, user


async def remove_member(session: AsyncSession, org: OrgContext, user_id: uuid.UUID) -> None:
    """Owners and admins remove others; anyone but the owner may leave."""
    if user_id != org.user.id:
        org.require("owner", "admin")
    await repository.lock_members(session, org.id)
    member = await repository.member_for_update(session, org.id, user_id)
    if member is None:
        raise MemberNotFound("Member not found")
    if member.role == "owner":
        raise OwnerImmutable("The owner cannot be removed; transfer ownership first")
    if member.role == "admin" and org.role != "owner" and user_id != org.user.id:
        raise Forbidden("Only the owner can remove an admin")
    await session.delete(member)
    await _log(session, org, "organization.member.remove", "Member removed", user_id)


async def change_role(
    session: AsyncSession, org: OrgContext, user_id: uuid.UUID, role: str
) -> Membership:
    org.require("owner", "admin")
    await repository.lock_members(session, org.id)
    member = await repository.member_for_update(session, org.id, user_id)
    if member is None:
        raise MemberNotFound("Member not found")
    if member.role == "owner":
        raise OwnerImmutable("The owner's role changes only by transferring ownership")
    if org.role != "owner" and (member.role == "admin" or role == "admin"):
        raise Forbidden("Only the owner can grant or take away the admin role")
    member.role = role
    await _log(session, org, "organization.member.role", f"Role changed to {role}", user_id)
    return member


async def transfer_ownership(session: AsyncSession, org: OrgContext, user_id: uuid.UUID) -> None:
    """The owner hands the organization to another member and becomes an admin."""
    org.require("owner")
    if user_id == org.user.id:
        raise InvalidInput("You already own this organization", field="userId")
    await repository.lock_members(session, org.id)
    target = await repository.member_for_update(session, org.id, user_id)
    current = await repository.member_for_update(session, org.id, org.user.id)
    if target is None:
        raise MemberNotFound("The new owner must already be a member")
    if current is None or current.role != "owner":
        raise Forbidden("Only the owner can transfer ownership")
    current.role = "admin"
    await session.flush()
    target.role = "owner"
    await session.flush()
    await _log(session, org, "organization.transfer", "Ownership transferred", user_id)


async def _log(
    session: AsyncSession, org: OrgContext, event: str, message: str, subject: uuid.UUID
) -> None:
    await record(
        session,
        event,
        message,
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="user",
        entity_id=subject,
    )
