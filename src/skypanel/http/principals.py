"""Who is calling, cached for a few seconds: the user and the acting membership, so cached reads
need no database at all, and the one rule that decides whether a verified token may act for its
account (`refusal`), used by the full path (`deps`) and the fast path (`fastpath`) alike; and the
same for a browser: its sign-in, the account and its organizations (`sign_in_stands`, used by
`skypanel.web.page` on both paths).

A user's entries are stored under the user's current generation (`user:{id}:g{n}:auth`,
`user:{id}:g{n}:member:{choice}`, `user:{id}:g{n}:organizations`; a sign-in's entry records the
generation it was found live in); any change to a user (password, role, disabling), to a
membership or to a sign-in (signing in or out, a refresh, a revocation) calls `forget_users`
once committed, which starts a new generation, so the old entries are never read again. With
several processes and no Redis, or when that bump does not reach Redis, another process may trust
a revoked token or sign-in for at most `TTL` seconds."""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from skypanel.kit.cache import Cache
from skypanel.kit.tokens import AccessClaims
from skypanel.models import Membership, Organization, User

TTL = 15.0
REFRESH_AFTER = 10.0
"""An entry this old is read again from the database by one request of the process while the
user's other requests keep using it (`Cache.first_to_refresh`): a busy user's requests never all
miss together at the TTL. Each entry records when it was written (`at`)."""
_USER = ("email", "name", "role", "is_active", "token_version")
_DATES = ("last_login_at", "created_at", "updated_at", "email_verified_at")


class Standing(Protocol):
    """What the rule needs to know about an account (a `User` has it)."""

    @property
    def is_active(self) -> bool: ...

    @property
    def token_version(self) -> int: ...


class Refusal(enum.Enum):
    """Why a verified token may not act for its account; the value is the message to show."""

    NO_ACCOUNT = "The account no longer exists or is disabled"
    """401 INVALID_TOKEN."""
    REVOKED = "The access token has been revoked"
    """401 TOKEN_REVOKED: the account's token version moved on (password change, sign-out)."""


def refusal(account: Standing | None, claims: AccessClaims) -> Refusal | None:
    """The rule: a token verified by signature and expiry (`claims`) acts for its account only
    while the account exists, is active and still has the token's version. None: it may."""
    if account is None or not account.is_active:
        return Refusal.NO_ACCOUNT
    if account.token_version != claims.token_version:
        return Refusal.REVOKED
    return None


class _Cached(NamedTuple):
    is_active: bool
    token_version: int


def scope(user_id: uuid.UUID) -> str:
    """The generation scope of what is cached about a user."""
    return f"user:{user_id}"


def entries(user_id: uuid.UUID, generation: int, choice: str | None) -> tuple[str, str]:
    """The keys of a user's account entry and of its membership entry for `choice` (the
    `X-Organization-Id` asked for, or None for the user's first organization)."""
    base = f"user:{user_id}:g{generation}"
    return f"{base}:auth", f"{base}:member:{choice or '-'}"


async def user_generation(cache: Cache, user_id: uuid.UUID) -> int | None:
    """The user's current generation; None when the cache cannot say. Read it before reading
    the database and pass it to `remember_*`, so a fill that raced a change stays out of sight."""
    found = await cache.generations(scope(user_id))
    return None if found is None else found[0]


def acting_organization(
    claims: AccessClaims, account: dict[str, Any], member: dict[str, Any]
) -> uuid.UUID | None:
    """The organization a verified token acts in, from its cached account and membership entries
    (`entries`, read under one generation and parsed), if `refusal` lets the token through; None
    leaves the decision to the full path (which also gives the errors)."""
    if refusal(_Cached(account["is_active"], account["token_version"]), claims) is not None:
        return None
    return uuid.UUID(member["org"]["id"])


def due(cache: Cache, keys: Sequence[str], found: Sequence[dict[str, Any]]) -> bool:
    """Whether this request is the one to fill the caller's entries (`keys`, read and parsed as
    `found`) again ahead of their TTL (`REFRESH_AFTER`)."""
    return any(_due(cache, key, data) for key, data in zip(keys, found, strict=True))


def _due(cache: Cache, key: str, data: Any) -> bool:
    return cache.first_to_refresh(key, data.get("at"), REFRESH_AFTER)


def _written(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "at": time.time()}


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def _current(cache: Cache, user_id: uuid.UUID, known: int | None) -> int | None:
    return await user_generation(cache, user_id) if known is None else known


async def cached_user(
    cache: Cache, user_id: uuid.UUID, *, generation: int | None = None
) -> User | None:
    """A detached copy of the user (no password hash): read it, never change it.
    `generation`: the one from `user_generation` (by default, read now)."""
    current = await _current(cache, user_id, generation)
    if current is None:
        return None
    key = entries(user_id, current, None)[0]
    data = await cache.get(key)
    if data is None or _due(cache, key, data):
        return None
    dates = {k: _date(data.get(k)) for k in _DATES}
    return User(id=user_id, **{k: data[k] for k in _USER}, **dates)


async def remember_user(cache: Cache, user: User, *, generation: int | None = None) -> None:
    """Cache the user, under `generation` if given (read before the user was loaded), else now."""
    current = await _current(cache, user.id, generation)
    if current is None:
        return
    data: dict[str, Any] = {k: getattr(user, k) for k in _USER}
    data.update({k: _stamp(getattr(user, k)) for k in _DATES})
    await cache.set(entries(user.id, current, None)[0], _written(data), TTL)


def _pack(found: tuple[Organization, Membership]) -> dict[str, Any]:
    organization, membership = found
    return {
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


def _unpack(user_id: uuid.UUID, data: dict[str, Any]) -> tuple[Organization, Membership]:
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


async def cached_membership(
    cache: Cache, user_id: uuid.UUID, choice: str | None, *, generation: int | None = None
) -> tuple[Organization, Membership] | None:
    current = await _current(cache, user_id, generation)
    if current is None:
        return None
    key = entries(user_id, current, choice)[1]
    data = await cache.get(key)
    return None if data is None or _due(cache, key, data) else _unpack(user_id, data)


async def remember_membership(
    cache: Cache,
    user_id: uuid.UUID,
    choice: str | None,
    found: tuple[Organization, Membership],
    *,
    generation: int | None = None,
) -> None:
    current = await _current(cache, user_id, generation)
    if current is not None:
        await cache.set(entries(user_id, current, choice)[1], _written(_pack(found)), TTL)


def _memberships_key(user_id: uuid.UUID, generation: int) -> str:
    return f"user:{user_id}:g{generation}:organizations"


async def cached_memberships(
    cache: Cache, user_id: uuid.UUID, generation: int
) -> list[tuple[Organization, Membership]] | None:
    """Every organization the user belongs to, in joining order (a browser's switcher)."""
    key = _memberships_key(user_id, generation)
    data = await cache.get(key)
    if data is None or _due(cache, key, data):
        return None
    return [_unpack(user_id, item) for item in data["items"]]


async def remember_memberships(
    cache: Cache,
    user_id: uuid.UUID,
    found: Sequence[tuple[Organization, Membership]],
    generation: int,
) -> None:
    entry = _written({"items": [_pack(item) for item in found]})
    await cache.set(_memberships_key(user_id, generation), entry, TTL)


def _sign_in_key(token_hash: str) -> str:
    return f"sign-in:{token_hash}"


def sign_in_stands(
    account: Standing | None, revoked: bool, expires_at: datetime, now: datetime
) -> bool:
    """The rule for a browser's sign-in (its refresh token), on the full path and the cached
    one: it stands while the token is neither revoked nor expired and its account is active."""
    return not revoked and expires_at > now and account is not None and account.is_active


class SignIn(NamedTuple):
    user_id: uuid.UUID
    generation: int
    expires_at: datetime


async def cached_sign_in(cache: Cache, token_hash: str) -> SignIn | None:
    """A browser sign-in found live under its user's current generation (a revocation starts a
    new one, see `forget_users`); None leaves the decision to the database. Its expiry is still
    for `sign_in_stands` to check."""
    key = _sign_in_key(token_hash)
    data = await cache.get(key)
    if data is None or _due(cache, key, data):
        return None
    user_id = uuid.UUID(data["user"])
    current = await user_generation(cache, user_id)
    if current is None or current != data["generation"]:
        return None
    return SignIn(user_id, current, datetime.fromtimestamp(data["expires"], UTC))


async def remember_sign_in(
    cache: Cache, token_hash: str, user_id: uuid.UUID, expires_at: datetime, generation: int
) -> None:
    """Cache a live sign-in under the user's generation read before the token was loaded."""
    entry = {"user": str(user_id), "expires": expires_at.timestamp(), "generation": generation}
    await cache.set(_sign_in_key(token_hash), _written(entry), TTL)


async def forget_users(cache: Cache, *user_ids: uuid.UUID) -> None:
    """Make what is cached about these users stale (call it once their account or memberships
    changed and the change is committed). Never raises: a bump the cache did not take leaves
    the old entries until their TTL (`TTL` seconds)."""
    await cache.bump(*(scope(user_id) for user_id in user_ids))
