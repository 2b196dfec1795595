"""A small cache: Redis when configured (shared by every process), process memory otherwise.

Values are JSON. Keys are namespaced, and a whole namespace can be dropped at once, which is
how mutations invalidate what they affect.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis


class Cache:
    def __init__(self, redis_url: str | None = None, prefix: str = "skypanel:") -> None:
        self.prefix = prefix
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._memory: dict[str, tuple[float, bytes]] = {}

    async def get(self, key: str) -> Any | None:
        raw = await self.get_raw(key)
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, ttl: float) -> None:
        await self.set_raw(key, json.dumps(value, default=str).encode(), ttl)

    async def get_raw(self, key: str) -> bytes | None:
        """The stored JSON document as it is."""
        full = self.prefix + key
        if self._redis is not None:
            raw = await self._redis.get(full)
            return raw.encode() if isinstance(raw, str) else raw
        found = self._memory.get(full)
        if found is None:
            return None
        if found[0] < time.monotonic():
            self._memory.pop(full, None)
            return None
        return found[1]

    async def set_raw(self, key: str, raw: bytes, ttl: float) -> None:
        full = self.prefix + key
        if self._redis is not None:
            await self._redis.set(full, raw, px=int(ttl * 1000))
        else:
            self._memory[full] = (time.monotonic() + ttl, raw)

    async def drop(self, namespace: str) -> None:
        """Forget every key that starts with `namespace`."""
        full = self.prefix + namespace
        if self._redis is not None:
            keys = [key async for key in self._redis.scan_iter(match=f"{full}*")]
            if keys:
                await self._redis.delete(*keys)
        else:
            for key in [k for k in self._memory if k.startswith(full)]:
                del self._memory[key]

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
