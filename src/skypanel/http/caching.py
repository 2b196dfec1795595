"""Per-organization cached reads (project list 30 s, usage 1 min), dropped on every change."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from skypanel.kit.cache import Cache

M = TypeVar("M", bound=BaseModel)
PROJECTS_TTL = 30.0
USAGE_TTL = 60.0
TEMPLATES_TTL = 300.0


def cache_of(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


async def cached(
    request: Request,
    key: str,
    ttl: float,
    model: type[M],
    compute: Callable[[], Awaitable[Any]],
    *,
    many: bool = False,
) -> Any:
    """The cached value of `key`, or `compute()` stored for `ttl` seconds."""
    cache = cache_of(request)
    hit = await cache.get(key)
    if hit is not None:
        return [model.model_validate(item) for item in hit] if many else model.model_validate(hit)
    value = await compute()
    dumped = (
        [item.model_dump(mode="json") for item in value] if many else value.model_dump(mode="json")
    )
    await cache.set(key, dumped, ttl)
    return value


async def invalidate(request: Request, organization_id: uuid.UUID) -> None:
    await cache_of(request).drop(f"org:{organization_id}:")
