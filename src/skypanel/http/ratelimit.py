"""Rate limits with the `limits` library: Redis when configured, process memory otherwise."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from skypanel.config import Settings
from skypanel.kit.tokens import TokenError, decode_access_token


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self._key = settings.jwt_key()
        self._tiers: dict[str, RateLimitItem] = {
            "anonymous": parse(settings.rate_limit_anonymous),
            "user": parse(settings.rate_limit_user),
            "admin": parse(settings.rate_limit_admin),
        }
        self.storage: Storage = (
            RedisStorage(_async_uri(settings.redis_url), implementation="redispy")
            if settings.redis_url
            else MemoryStorage()
        )
        self._strategy = MovingWindowRateLimiter(self.storage)

    def identify(self, authorization: str | None, address: str) -> tuple[str, str]:
        """(tier, key) for a request: the bearer token's user when it is valid, else the address."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            try:
                claims = decode_access_token(token, key=self._key)
            except TokenError:
                pass
            else:
                tier = "admin" if claims.role == "admin" else "user"
                return tier, f"user:{claims.user_id}"
        return "anonymous", f"ip:{address}"

    async def check(self, authorization: str | None, address: str) -> int | None:
        """None when the request may go on, else the seconds to wait."""
        if not self.enabled:
            return None
        tier, key = self.identify(authorization, address)
        item = self._tiers[tier]
        if await self._strategy.hit(item, tier, key):
            return None
        stats = await self._strategy.get_window_stats(item, tier, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
