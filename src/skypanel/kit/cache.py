"""A small cache: Redis when configured (shared by every process), process memory otherwise.

Values are JSON (or stored bytes). Redis speeds things up and is never needed to answer: every
call to it has short timeouts and no retries, an error or a timeout is a miss for a read and a
logged warning for a write, and after a failure the cache leaves Redis alone for `backoff`
seconds (then one call probes it while the others keep skipping), so an outage or a hang costs
the requests that meet it one timeout, not one each.

Invalidation is by generation. A scope (an organization, a user) has a counter; readers key their
entries under its current value and `bump` increments it (Redis `INCR`), so what was cached
before is never read again and expires by its TTL. A fill reads the generation before it reads
the database, so a fill that raced a change lands under the old generation, out of sight.
A bump that fails (Redis down, or skipped during the back-off) leaves the old generation in
place: a process that still reaches Redis may serve entries written before the change until their
TTL runs out, which is why the TTLs are short (15 s for callers, 30 s to 5 min for reads).
Generation keys have no TTL (one small integer per organization and user); with an eviction
policy, use `noeviction` or a `volatile-*` one so they are never evicted while their entries live.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

T = TypeVar("T")
_SWEEP_SECONDS = 60.0
_MAX_REFRESHING = 10_000
"""Claims kept before the lapsed ones are dropped (`Cache.first_to_refresh`)."""
_claimed: ContextVar[frozenset[str]] = ContextVar("claimed", default=frozenset())
"""The entries the current request claimed to fill again: its own later reads of them miss too,
so the layer that reads the database is reached (the fast path claims, the route refills)."""


class _Unavailable:
    """What a call to Redis gives when Redis did not answer (or is being left alone)."""


UNAVAILABLE = _Unavailable()


class Cache:
    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str = "skypanel:",
        *,
        connect_timeout: float = 0.25,
        socket_timeout: float = 0.25,
        backoff: float = 5.0,
    ) -> None:
        self.prefix = prefix
        self.backoff = backoff
        self._deadline = connect_timeout + socket_timeout
        self._redis: aioredis.Redis | None = (
            aioredis.from_url(
                redis_url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 0),
            )
            if redis_url
            else None
        )
        self._retry_at: float | None = None
        """Set after a failure: Redis is skipped until then, then probed by one call."""
        self._probing = False
        self._memory: dict[str, tuple[float, bytes]] = {}
        self._generations: dict[str, int] = {}
        self._sweep_at = time.monotonic() + _SWEEP_SECONDS
        self._refreshing: dict[str, float] = {}
        """Entries one caller of this process is filling again ahead of their TTL, with when
        that claim lapses (`first_to_refresh`)."""

    async def get(self, key: str) -> Any | None:
        raw = await self.get_raw(key)
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, ttl: float) -> None:
        await self.set_raw(key, json.dumps(value, default=str).encode(), ttl)

    async def get_raw(self, key: str) -> bytes | None:
        """The stored JSON document as it is; None when absent or when Redis does not answer."""
        if self._redis is None:
            return self._recall(self.prefix + key)
        [found] = await self.get_many_raw(key)
        return found

    async def get_many_raw(self, *keys: str) -> list[bytes | None]:
        """Several stored documents in one round trip (`MGET`), in the order of `keys`."""
        full = [self.prefix + key for key in keys]
        if self._redis is None:
            return [self._recall(key) for key in full]
        found = await self._ask("mget", lambda redis: redis.mget(full))
        if isinstance(found, _Unavailable):
            return [None] * len(full)
        return [raw.encode() if isinstance(raw, str) else raw for raw in found]

    async def set_raw(self, key: str, raw: bytes, ttl: float) -> None:
        full = self.prefix + key
        if self._redis is None:
            self._sweep()
            self._memory[full] = (time.monotonic() + ttl, raw)
            return
        await self._ask("set", lambda redis: redis.set(full, raw, px=max(1, int(ttl * 1000))))

    async def generations(self, *scopes: str) -> list[int] | None:
        """The current generation of each scope (0 until its first bump), in one round trip;
        None when Redis does not answer: then nothing may be read or stored for them."""
        full = [f"{self.prefix}gen:{scope}" for scope in scopes]
        if self._redis is None:
            return [self._generations.get(key, 0) for key in full]
        found = await self._ask("generations", lambda redis: redis.mget(full))
        if isinstance(found, _Unavailable):
            return None
        return [0 if value is None else int(value) for value in found]

    async def bump(self, *scopes: str) -> None:
        """Start a new generation of each scope (one round trip): entries stored under the old
        ones are never read again. Never raises; a bump Redis did not take is logged, and its
        scopes' entries stay readable until their TTL (see the module's note)."""
        full = [f"{self.prefix}gen:{scope}" for scope in scopes]
        if not full:
            return
        if self._redis is None:
            for key in full:
                self._generations[key] = self._generations.get(key, 0) + 1
            return

        async def increment(redis: aioredis.Redis) -> list[Any]:
            async with redis.pipeline(transaction=False) as pipe:
                for key in full:
                    pipe.incr(key)
                return await pipe.execute()

        if isinstance(await self._ask("bump", increment), _Unavailable):
            log.warning("cache.invalidation_lost", scopes=list(scopes), stale_until="their TTL")

    async def drop(self, namespace: str) -> None:
        """Forget every key that starts with `namespace`, by scanning Redis's keys: only for the
        few global namespaces that change rarely (the template catalogue, platform settings);
        what belongs to an organization or a user is dropped by `bump`. Never raises; a drop
        Redis did not take is logged, and the entries stay until their TTL."""
        full = self.prefix + namespace
        if self._redis is None:
            for key in [k for k in self._memory if k.startswith(full)]:
                del self._memory[key]
            return

        async def scan_and_delete(redis: aioredis.Redis) -> None:
            keys = [key async for key in redis.scan_iter(match=f"{full}*", count=1000)]
            if keys:
                await redis.delete(*keys)

        # A scan takes many short calls, each bounded by the socket timeout, not by one deadline.
        if isinstance(await self._ask("drop", scan_and_delete, bounded=False), _Unavailable):
            log.warning("cache.invalidation_lost", namespace=namespace, stale_until="their TTL")

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def _ask(
        self,
        operation: str,
        call: Callable[[aioredis.Redis], Awaitable[T]],
        *,
        bounded: bool = True,
    ) -> T | _Unavailable:
        """`call` on Redis, within connect plus socket timeout when `bounded`; UNAVAILABLE when
        it fails, and while Redis is left alone after a failure."""
        assert self._redis is not None
        probe = self._retry_at is not None
        if self._retry_at is not None:
            if self._probing or time.monotonic() < self._retry_at:
                return UNAVAILABLE
            self._probing = True
        try:
            async with asyncio.timeout(self._deadline if bounded else None):
                result = await call(self._redis)
        except (RedisError, OSError, TimeoutError) as exc:
            # One warning when Redis goes (or a probe finds it still gone), not one per caller.
            report = log.warning if probe or self._retry_at is None else log.debug
            self._retry_at = time.monotonic() + self.backoff
            report(
                "cache.redis_failed", operation=operation, error=repr(exc), retry_in=self.backoff
            )
            return UNAVAILABLE
        finally:
            if probe:
                self._probing = False
        if self._retry_at is not None:
            self._retry_at = None
            log.info("cache.redis_back", operation=operation)
        return result

    def _recall(self, full: str) -> bytes | None:
        found = self._memory.get(full)
        if found is None:
            return None
        if found[0] < time.monotonic():
            self._memory.pop(full, None)
            return None
        return found[1]

    def first_to_refresh(self, key: str, written_at: float | None, after: float) -> bool:
        """True for one caller in this process once the entry at `key`, written at `written_at`
        (`time.time()`), is `after` seconds old: that caller reads the source again and stores
        the entry anew, while every other caller keeps using the entry until its TTL. So the
        requests that share an entry do not all miss together when it expires, each reading the
        database at once. The claim lapses after `after` seconds (a refresh that failed or was
        not stored leaves the entry to its TTL). An entry without a time is never refreshed
        early. The claimant's own later reads of the entry (in the same request, which is the same
        context) are due too, until it has stored the entry anew."""
        if written_at is None or time.time() - written_at < after:
            return False
        if key in _claimed.get():
            return True
        now = time.monotonic()
        if self._refreshing.get(key, 0.0) > now:
            return False
        if len(self._refreshing) >= _MAX_REFRESHING:
            self._refreshing = {k: t for k, t in self._refreshing.items() if t > now}
        self._refreshing[key] = now + after
        _claimed.set(_claimed.get() | {key})
        return True

    def _sweep(self) -> None:
        """Drop expired entries now and then: entries of a past generation are never read (and
        so never dropped on reading) again."""
        now = time.monotonic()
        if now < self._sweep_at:
            return
        self._sweep_at = now + _SWEEP_SECONDS
        for key in [k for k, (expires, _) in self._memory.items() if expires < now]:
            del self._memory[key]
