"""Cached reads answered before the framework: when the caller (a verified token, its account,
its membership) and the read are all cached, the stored JSON goes out as it is.

Nothing here decides anything the full path would not: any miss, doubt or error passes the
request on, and the route answers (and fills the caches) as usual. The account and membership
entries are the ones `deps` caches, read under the same generations, and the decision is the
full path's own rule (`principals.refusal`), so a revoked token or a removed member stops being
served here exactly when the full path stops too.

Round trips to the cache: two when the request names its organization (`X-Organization-Id`):
both generations, then the account, membership and read entries; four otherwise (the
organization, hence its generation, is known only from the membership entry).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from skypanel.config import Settings
from skypanel.http import caching, principals
from skypanel.http.caching import CachedRead
from skypanel.http.deps import bearer
from skypanel.kit.cache import Cache
from skypanel.kit.tokens import TokenError, decode_access_token


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
        named = _organization_id(choice)
        user_scope = principals.scope(claims.user_id)
        scopes = [user_scope] if named is None else [user_scope, caching.scope(named)]
        generations = await self.cache.generations(*scopes)
        if generations is None:
            return None
        keys = list(principals.entries(claims.user_id, generations[0], choice))
        if named is not None:
            keys.append(read.key(named, generations[1]))
        found = await self.cache.get_many_raw(*keys)
        organization_id = principals.acting_organization(claims, found[0], found[1])
        if organization_id is None:
            return None
        if named is not None:
            return found[2] if organization_id == named else None
        current = await self.cache.generations(caching.scope(organization_id))
        if current is None:
            return None
        return await self.cache.get_raw(read.key(organization_id, current[0]))


def _organization_id(choice: str | None) -> uuid.UUID | None:
    if choice is None:
        return None
    try:
        return uuid.UUID(choice)
    except ValueError:
        return None
