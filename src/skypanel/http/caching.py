"""Cached reads (an organization's project list 30 s and usage 1 min, the template catalogue 5 min),
stored as the exact JSON the API answers with and dropped on every change.

An organization's reads are stored under its current generation (`org:{id}:g{n}:projects`);
`drop_organizations` starts a new one after a change commits, so the old entries are never read
again and expire by their TTL. If that bump does not reach Redis, other processes may serve the
old entries until their TTL runs out (`skypanel.kit.cache`).

The API answers a hit with the stored bytes; pages decode them into the same models. A read that
names a `path` is also served by `CachedReads` (`skypanel.http.fastpath`) when the caller is
cached too, before the request reaches the framework; one that also has a `cold` read is answered
there when it is not cached, by one statement that finds the caller and the read together.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from asyncpg import Connection  # type: ignore[import-untyped]
from fastapi import Request, Response
from pydantic import TypeAdapter

from skypanel.kit.cache import Cache
from skypanel.models import Membership, Organization, User

T = TypeVar("T")


def cache_of(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


PLATFORM = "platform"
"""The generation scope of what shows platform-wide settings (cached pages): it moves on every
change of a platform-wide cached namespace (settings, templates)."""


def scope(organization_id: uuid.UUID) -> str:
    """The generation scope of an organization's cached reads."""
    return f"org:{organization_id}"


def _key(organization_id: uuid.UUID, generation: int, name: str) -> str:
    return f"org:{organization_id}:g{generation}:{name}"


@dataclass(frozen=True, slots=True)
class OrgKey:
    """A read of one organization, stored under the organization's current generation."""

    organization_id: uuid.UUID
    name: str

    def at(self, generation: int) -> str:
        return _key(self.organization_id, generation, self.name)


class Cold(NamedTuple, Generic[T]):
    """What a cold read found in its one statement: the caller's account (None: there is none),
    the membership it acts through (None: none, or not in the organization asked for) and, with
    that membership, the read of its organization."""

    user: User | None
    membership: tuple[Organization, Membership] | None
    value: T | None


ColdRead = Callable[
    [Connection, uuid.UUID, uuid.UUID | None, Mapping[str, str] | None], Awaitable[Cold[T]]
]
"""`(asyncpg connection, user id, organization asked for or None for the first, the read's own
parameters)`: the caller and the read in one statement (`skypanel.organizations.cold`), on a
pooled connection outside any transaction (`skypanel.kit.db.driver_connection`)."""


@dataclass(frozen=True, slots=True)
class CachedRead(Generic[T]):
    name: str
    ttl: float
    adapter: TypeAdapter[T]
    path: str | None = None
    """The `GET` route that answers with this read of the caller's organization, if any."""
    cold: ColdRead[T] | None = None
    """The same read with its caller, for the fast path to answer when neither is cached."""

    def for_org(self, organization_id: uuid.UUID) -> OrgKey:
        return OrgKey(organization_id, self.name)

    def key(self, organization_id: uuid.UUID, generation: int) -> str:
        """Where this read of the organization is stored in that generation (the fast path's
        `for_org(...).at(...)`, without the object)."""
        return _key(organization_id, generation, self.name)

    async def _stored(
        self, request: Request, key: str | OrgKey, compute: Callable[[], Awaitable[T]]
    ) -> tuple[bytes, T | None]:
        cache = cache_of(request)
        # The generation is read before `compute` reads the database: a fill that races a change
        # is stored under the generation the change's bump leaves behind.
        stored = await _resolved(cache, key)
        raw = None if stored is None else await cache.get_raw(stored)
        if raw is not None:
            return raw, None
        value = await compute()
        raw = self.adapter.dump_json(value, by_alias=True)
        if stored is not None:
            await cache.set_raw(stored, raw, self.ttl)
        return raw, value

    async def value(
        self, request: Request, key: str | OrgKey, compute: Callable[[], Awaitable[T]]
    ) -> T:
        """The value itself (for pages)."""
        raw, value = await self._stored(request, key, compute)
        return self.adapter.validate_json(raw) if value is None else value

    async def response(
        self, request: Request, key: str | OrgKey, compute: Callable[[], Awaitable[T]]
    ) -> Response:
        """The API's answer: the stored JSON as it is."""
        raw, _ = await self._stored(request, key, compute)
        return Response(raw, media_type="application/json")


async def _resolved(cache: Cache, key: str | OrgKey) -> str | None:
    """Where the read is stored now; None when the cache cannot say (nothing is read or stored)."""
    if isinstance(key, str):
        return key
    found = await cache.generations(scope(key.organization_id))
    return None if found is None else key.at(found[0])


async def drop_organizations(cache: Cache, *organization_ids: uuid.UUID) -> None:
    """Make the organizations' cached reads stale (call it once the change is committed), in one
    round trip however many there are. Never raises: a bump the cache did not take leaves the
    old reads until their TTL."""
    await cache.bump(*(scope(organization_id) for organization_id in organization_ids))
