"""Cached reads answered before the framework: when the caller (a verified token, its account,
its membership) and the read are all cached, the stored JSON goes out as it is.

Nothing here decides anything the full path would not: any miss, doubt or error passes the
request on, and the route answers (and fills the caches) as usual. The account and membership
entries are the ones `deps` caches and every change drops (`principals.forget`), so a revoked
token or a removed member stops being served here exactly when the full path stops too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from skypanel.accounts.security import TokenError, decode_access_token
from skypanel.config import Settings
from skypanel.http import principals
from skypanel.http.caching import CachedRead
from skypanel.http.deps import bearer
from skypanel.kit.cache import Cache


class CachedReads:
    def __init__(
        self, app: ASGIApp, *, reads: Iterable[CachedRead[Any]], cache: Cache, settings: Settings
    ) -> None:
        self.app = app
        self.reads = {read.path: read for read in reads if read.path}
        self.cache = cache
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = self.reads.get(scope["path"]) if scope["type"] == "http" else None
        body = None if read is None or scope["method"] != "GET" else await self._hit(read, scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _hit(self, read: CachedRead[Any], scope: Scope) -> bytes | None:
        headers = Headers(scope=scope)
        token = bearer(headers.get("authorization"))
        if token is None:
            return None
        try:
            claims = decode_access_token(token, key=self.settings.jwt_key())
        except TokenError:
            return None
        choice = headers.get("x-organization-id")
        organization_id = await principals.cached_organization(self.cache, claims, choice)
        if organization_id is None:
            return None
        return await self.cache.get_raw(read.for_org(organization_id))
