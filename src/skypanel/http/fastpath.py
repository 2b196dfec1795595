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

A read that is not cached, or whose caller is not, is answered here too when it has a cold read
(`CachedRead.cold`): one statement finds the caller and the read, the same rule decides, and the
caches are filled as the full path fills them.

A `ColdView` (a `GET` route with path parameters, whose answer is read anew every time) is
answered the same way: one statement finds the caller, its membership and what the route shows,
then the route's own code shapes the answer.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, NamedTuple, TypeVar

import structlog
from asyncpg import InterfaceError, PostgresError  # type: ignore[import-untyped]
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers, State
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from skypanel.config import Settings
from skypanel.http import caching, principals
from skypanel.http.caching import CachedRead, ColdRead
from skypanel.http.deps import bearer
from skypanel.kit.cache import Cache
from skypanel.kit.db import driver_connection
from skypanel.kit.tokens import AccessClaims, TokenError, decode_access_token

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ColdView(Generic[T]):
    """A `GET` route (`route`, with its `{parameters}`) answered before the framework: `cold`
    finds the caller, its membership and what the route shows in one statement (given the path
    parameters by name), and `answer`, the route's own code, turns that into the route's JSON
    with a session of its own (which takes a connection only if the answer reads more). Either
    may pass the request on (`cold` finding nothing, `answer` returning None for what only the
    route can answer); nothing is cached."""

    route: str
    cold: ColdRead[T | None]
    answer: Callable[[State, AsyncSession, T], Awaitable[bytes | None]]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The route's own pattern, as Starlette matches it."""
        return compile_path(self.route)[0]


class CachedReads:
    def __init__(
        self,
        app: ASGIApp,
        *,
        reads: Iterable[CachedRead[Any]],
        cache: Cache,
        settings: Settings,
        state: State,
        views: Iterable[ColdView[Any]] = (),
    ) -> None:
        """`state`: the application's, whose `sessions` the reads use (given once the database
        is attached)."""
        self.app = app
        self.reads = {read.path: read for read in reads if read.path}
        self.views = tuple(views)
        self.cache = cache
        self.settings = settings
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        # A query string is the full path's to judge (an unknown parameter is a 422 there).
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            body = await self._answer(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope) -> bytes | None:
        path = scope["path"]
        read = self.reads.get(path)
        if read is not None:
            return await self._hit(read, scope)
        for view in self.views:
            found = view.pattern.match(path)
            if found is not None:
                return await self._view(view, scope, found.groupdict())
        return None

    def _caller(self, scope: Scope) -> tuple[AccessClaims, str | None, uuid.UUID | None] | None:
        """The verified token's claims and the organization asked for (`X-Organization-Id`, as
        given and as an id); None when the full path has to say why not."""
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
        if choice is not None and named is None:
            return None
        return claims, choice, named

    async def _view(
        self, view: ColdView[Any], scope: Scope, params: dict[str, str]
    ) -> bytes | None:
        """The view from one statement, decided by the full path's rule; None passes the
        request on (a refusal, nothing found, the database not answering)."""
        caller = self._caller(scope)
        if caller is None:
            return None
        claims, _, named = caller
        try:
            async with driver_connection(self.state.sessions) as connection:
                cold = await view.cold(connection, claims.user_id, named, params)
            refused = principals.refusal(cold.user, claims) is not None
            if refused or cold.membership is None or cold.value is None:
                return None
            async with self.state.sessions() as session:
                answer: bytes | None = await view.answer(self.state, session, cold.value)
                return answer
        except (SQLAlchemyError, OSError, PostgresError, InterfaceError):
            log.warning("cold_view_passed_on", route=view.route, exc_info=True)
            return None

    async def _hit(self, read: CachedRead[Any], scope: Scope) -> bytes | None:
        found_caller = self._caller(scope)
        if found_caller is None:
            return None
        claims, choice, named = found_caller
        user_scope = principals.scope(claims.user_id)
        scopes = [user_scope] if named is None else [user_scope, caching.scope(named)]
        generations = await self.cache.generations(*scopes)
        if generations is None:
            return None
        keys = list(principals.entries(claims.user_id, generations[0], choice))
        if named is not None:
            keys.append(read.key(named, generations[1]))
        found = await self.cache.get_many_raw(*keys)
        caller = _Caller(claims, choice, named, generations[0])
        known = (named, generations[1]) if named else None
        if found[0] is None or found[1] is None:
            return await self._cold(read, caller, known)
        entries = (json.loads(found[0]), json.loads(found[1]))
        organization_id = principals.acting_organization(claims, *entries)
        if organization_id is None or (named is not None and organization_id != named):
            return None
        if principals.due(self.cache, keys[:2], entries):
            return await self._cold(read, caller, known)
        if named is not None:
            generation = generations[1]
            raw = found[2]
        else:
            current = await self.cache.generations(caching.scope(organization_id))
            if current is None:
                return None
            generation = current[0]
            raw = await self.cache.get_raw(read.key(organization_id, generation))
        if raw is not None:
            return raw
        return await self._cold(read, caller, (organization_id, generation))

    async def _cold(
        self, read: CachedRead[Any], caller: _Caller, known: tuple[uuid.UUID, int] | None
    ) -> bytes | None:
        """The read and its caller from the database in one statement (`CachedRead.cold`),
        decided by the full path's rule and cached as the full path caches them: the caller's
        entries under the user's generation and the read under its organization's, both read
        before the statement. `known`: the organization expected and its generation; the read
        is stored only when the statement found that organization (not when none was known, or
        when the caller's first organization changed in between). None passes the request on:
        no cold read, a refusal (the full path says why), or the database not answering."""
        if read.cold is None:
            return None
        try:
            async with driver_connection(self.state.sessions) as connection:
                cold = await read.cold(connection, caller.claims.user_id, caller.named, None)
        except (SQLAlchemyError, OSError, PostgresError, InterfaceError):
            log.warning("cold_read_passed_on", read=read.name, exc_info=True)
            return None
        if principals.refusal(cold.user, caller.claims) is not None or cold.membership is None:
            return None
        assert cold.user is not None
        raw = read.adapter.dump_json(cold.value, by_alias=True)
        user_id, generation_of_user = caller.claims.user_id, caller.user_generation
        await principals.remember_user(self.cache, cold.user, generation=generation_of_user)
        await principals.remember_membership(
            self.cache, user_id, caller.choice, cold.membership, generation=generation_of_user
        )
        if known is not None and known[0] == cold.membership[0].id:
            await self.cache.set_raw(read.key(known[0], known[1]), raw, read.ttl)
        return raw


class _Caller(NamedTuple):
    claims: AccessClaims
    choice: str | None
    named: uuid.UUID | None
    user_generation: int


def _organization_id(choice: str | None) -> uuid.UUID | None:
    if choice is None:
        return None
    try:
        return uuid.UUID(choice)
    except ValueError:
        return None
