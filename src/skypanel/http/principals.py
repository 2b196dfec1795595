"""Who is calling, cached for a few seconds: the user and the acting membership, so cached reads
need no database at all. Any change to a user (password, role, disabling) or to a membership
drops the entries at once; with several processes and no Redis, another process may trust a
revoked token for at most `TTL` seconds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request

from skypanel.accounts.security import AccessClaims
from skypanel.kit.cache import Cache
from skypanel.models import Membership, Organization, User

TTL = 15.0
_USER = ("email", "name", "role", "is_active", "token_version")
_DATES = ("last_login_at", "created_at", "updated_at")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def cached_user(cache: Cache, user_id: uuid.UUID) -> User | None:
    """A detached copy of the user (no password hash): read it, never change it."""
    data = await cache.get(f"auth:{user_id}")
    if data is None:
        return None
    return User(id=user_id, **{k: data[k] for k in _USER}, **{k: _date(data[k]) for k in _DATES})


async def cached_organization(
    cache: Cache, claims: AccessClaims, choice: str | None
) -> uuid.UUID | None:
    """The organization a request acts in, if the caller's account and membership are both
    cached and the account still accepts this token; None leaves the decision to the full path
    (which also gives the errors)."""
    user = await cache.get(f"auth:{claims.user_id}")
    if user is None or not user["is_active"] or user["token_version"] != claims.token_version:
        return None
    member = await cache.get(f"member:{claims.user_id}:{choice or '-'}")
    return None if member is None else uuid.UUID(member["org"]["id"])


async def remember_user(cache: Cache, user: User) -> None:
    data: dict[str, Any] = {k: getattr(user, k) for k in _USER}
    data.update({k: _stamp(getattr(user, k)) for k in _DATES})
    await cache.set(f"auth:{user.id}", data, TTL)


async def cached_membership(
    cache: Cache, user_id: uuid.UUID, choice: str | None
) -> tuple[Organization, Membership] | None:
    data = await cache.get(f"member:{user_id}:{choice or '-'}")
    if data is None:
        return None
    org, member = data["org"], data["member"]
    organization = Organization(
        id=uuid.UUID(org["id"]),
        name=org["name"],
        slug=org["slug"],
        personal=org["personal"],
        created_at=_date(org["created_at"]),
        updated_at=_date(org["updated_at"]),
    )
    membership = Membership(
        id=uuid.UUID(member["id"]),
        organization_id=organization.id,
        user_id=user_id,
        role=member["role"],
        created_at=_date(member["created_at"]),
    )
    return organization, membership


async def remember_membership(
    cache: Cache, user_id: uuid.UUID, choice: str | None, found: tuple[Organization, Membership]
) -> None:
    organization, membership = found
    data = {
        "org": {
            "id": str(organization.id),
            "name": organization.name,
            "slug": organization.slug,
            "personal": organization.personal,
            "created_at": _stamp(organization.created_at),
            "updated_at": _stamp(organization.updated_at),
        },
        "member": {
            "id": str(membership.id),
            "role": membership.role,
            "created_at": _stamp(membership.created_at),
        },
    }
    await cache.set(f"member:{user_id}:{choice or '-'}", data, TTL)


async def forget(request: Request, *user_ids: uuid.UUID) -> None:
    """Drop what is cached about these users (after their account or memberships changed)."""
    cache: Cache = request.app.state.cache
    for user_id in user_ids:
        await cache.drop(f"auth:{user_id}")
        await cache.drop(f"member:{user_id}:")
