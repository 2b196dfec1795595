"""Cached reads (an organization's project list 30 s and usage 1 min, the template catalogue 5 min),
stored as the exact JSON the API answers with and dropped on every change.

The API answers a hit with the stored bytes; pages decode them into the same models. A read that
names a `path` is also served by `CachedReads` (`skypanel.http.fastpath`) when the caller is
cached too, before the request reaches the framework.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Request, Response
from pydantic import TypeAdapter

from skypanel.kit.cache import Cache

T = TypeVar("T")


def cache_of(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


@dataclass(frozen=True, slots=True)
class CachedRead(Generic[T]):
    name: str
    ttl: float
    adapter: TypeAdapter[T]
    path: str | None = None
    """The `GET` route that answers with this read of the caller's organization, if any."""

    def for_org(self, organization_id: uuid.UUID) -> str:
        return f"org:{organization_id}:{self.name}"

    async def _stored(
        self, request: Request, key: str, compute: Callable[[], Awaitable[T]]
    ) -> tuple[bytes, T | None]:
        cache = cache_of(request)
        raw = await cache.get_raw(key)
        if raw is not None:
            return raw, None
        value = await compute()
        raw = self.adapter.dump_json(value, by_alias=True)
        await cache.set_raw(key, raw, self.ttl)
        return raw, value

    async def value(self, request: Request, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """The value itself (for pages)."""
        raw, value = await self._stored(request, key, compute)
        return self.adapter.validate_json(raw) if value is None else value

    async def response(
        self, request: Request, key: str, compute: Callable[[], Awaitable[T]]
    ) -> Response:
        """The API's answer: the stored JSON as it is."""
        raw, _ = await self._stored(request, key, compute)
        return Response(raw, media_type="application/json")


async def invalidate(request: Request, organization_id: uuid.UUID) -> None:
    await cache_of(request).drop(f"org:{organization_id}:")
