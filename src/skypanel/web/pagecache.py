"""Whole pages kept for a few seconds, per viewer and organization (`cached_page`), and served
before the framework when everything they need is cached (`CachedPages`).

A page is stored under the generations of its organization, of its viewer and of the platform's
settings (what the API's cached reads and cached callers are stored under), so every change that
makes those stale — the viewer's own changes included, once committed — makes the page stale at
once, and nothing is ever shown to another viewer or in another organization. What no generation
follows (changes the workers write in bulk, Easypanel's live state) shows within `TTL` seconds of
the page being asked for again (a stale page is served while it is rendered anew).

Stored pages are hollow: the session's CSRF token is taken out and put back on the way out, so
the stored bytes hold nothing that belongs to one request. Only a plain `GET` of a full 200 page
that sets no cookie and carries no CSP nonce (the pages' scripts and styles are files) is stored;
a page with flashes, an htmx partial or a browser without its CSRF cookie yet is always rendered.

`CachedPages` decides with the full path's own rules (`principals.sign_in_stands`, `acting`) from
the full path's own cache entries; any miss or doubt passes the request on to the route.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from skypanel.accounts.security import hash_refresh_token
from skypanel.config import Settings
from skypanel.http import caching, principals
from skypanel.kit import clock
from skypanel.kit.cache import Cache
from skypanel.kit.uow import release
from skypanel.web import cookies
from skypanel.web.page import Page, acting

TTL = 3.0
_CSRF = b"\x00csrf-token\x00"
_MARK = "skypanel_cached_page"

P = ParamSpec("P")
_rendering: dict[str, asyncio.Future[bytes | None]] = {}
"""Pages this process is rendering now: a viewer's requests that miss together render once."""


def cached_page(view: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Serve the view's page from the cache while nothing it shows has changed (its `page`
    argument is the viewer's `CustomerPage`)."""

    @functools.wraps(view)
    async def serve(*args: P.args, **kwargs: P.kwargs) -> Response:
        page = kwargs["page"]
        assert isinstance(page, Page)
        key = await _key_of(page)
        if key is None:
            return await view(*args, **kwargs)
        cache = caching.cache_of(page.request)
        csrf = page.csrf.encode()
        stored = _Stored.of(await cache.get_raw(key))
        if stored is not None and (stored.fresh or key in _rendering):
            return HTMLResponse(stored.filled(csrf))
        underway = _rendering.get(key)
        if underway is not None:
            # The same page is being rendered for the same viewer right now: wait for it, having
            # given back this request's connection first. The render may need more connections
            # than its own (a server's client, an audit row): waiters that held theirs could
            # take the whole pool, and the render would wait for them as they wait for it. The
            # render is held from before that: it may end (and leave `_rendering`) meanwhile.
            await release(page.session)
            hollow = await asyncio.shield(underway)
            if hollow is not None:
                return HTMLResponse(_Stored(0.0, hollow).filled(csrf))
        rendered: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        _rendering[key] = rendered
        hollow = None
        try:
            response = await view(*args, **kwargs)
            if _storable(response, _nonce(page.request.scope)) and csrf:
                hollow = bytes(response.body).replace(csrf, _CSRF)
                await cache.set_raw(key, _Stored.pack(hollow), 2 * TTL)
        finally:
            # Waiters whose render kept no page render it themselves, side by side: each takes
            # out only its own.
            if _rendering.get(key) is rendered:
                del _rendering[key]
            rendered.set_result(hollow)
        return response

    setattr(serve, _MARK, True)
    return serve


def is_cached(endpoint: Callable[..., Any]) -> bool:
    return bool(getattr(endpoint, _MARK, False))


def _cacheable(request: Request) -> bool:
    return (
        request.method == "GET"
        and request.headers.get("hx-request") != "true"
        and cookies.FLASH not in request.cookies
        and bool(request.cookies.get(cookies.CSRF))
    )


async def _key(
    cache: Cache, request: Request, user_id: uuid.UUID, organization_id: uuid.UUID
) -> tuple[str, int] | None:
    """Where the page is stored for this viewer now, with the viewer's generation; None when the
    cache cannot say."""
    generations = await cache.generations(
        principals.scope(user_id), caching.scope(organization_id), caching.PLATFORM
    )
    if generations is None:
        return None
    user, organization, platform = generations
    shown = f"{request.url.path}?{request.url.query}".encode()
    digest = hashlib.blake2b(shown, digest_size=12).hexdigest()
    key = f"page:{organization_id}:g{organization}:{user_id}:g{user}:p{platform}:{digest}"
    return key, user


async def _key_of(page: Page) -> str | None:
    if not _cacheable(page.request) or page.acting is None:
        return None
    found = await _key(caching.cache_of(page.request), page.request, page.user.id, page.acting.id)
    return None if found is None else found[0]


def _nonce(scope: Scope) -> str:
    state = scope.get("state") or {}
    return str(state.get("csp_nonce", ""))


@dataclass(frozen=True, slots=True)
class _Stored:
    """A stored page and when it was rendered. Kept `2 * TTL`, fresh for `TTL`: a stale page is
    still served while one request renders it again, so no viewer waits for a render."""

    at: float
    hollow: bytes

    @property
    def fresh(self) -> bool:
        return time.time() - self.at < TTL

    def filled(self, csrf: bytes) -> bytes:
        return self.hollow.replace(_CSRF, csrf)

    @staticmethod
    def pack(hollow: bytes) -> bytes:
        return b"%.3f\n" % time.time() + hollow

    @classmethod
    def of(cls, raw: bytes | None) -> _Stored | None:
        if raw is None:
            return None
        stamp, _, hollow = raw.partition(b"\n")
        return cls(float(stamp), hollow)


def _storable(response: Response, nonce: str) -> bool:
    headers: Any = response.headers
    return (
        response.status_code == 200
        and "set-cookie" not in headers
        and str(headers.get("content-type", "")).startswith("text/html")
        and not (nonce and nonce.encode() in bytes(response.body))
    )


class CachedPages:
    """Cached pages answered before the framework, for the paths of `cached_page` views."""

    def __init__(
        self, app: ASGIApp, *, paths: Iterable[re.Pattern[str]], cache: Cache, settings: Settings
    ) -> None:
        self.app = app
        self.paths = tuple(paths)
        self.cache = cache
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        if scope["type"] == "http" and any(p.match(scope["path"]) for p in self.paths):
            body = await self._hit(Request(scope))
        if body is None:
            await self.app(scope, receive, send)
            return
        await HTMLResponse(body)(scope, receive, send)

    async def _hit(self, request: Request) -> bytes | None:
        token = request.cookies.get(cookies.SESSION)
        if not token or not _cacheable(request):
            return None
        signed_in = await principals.cached_sign_in(self.cache, hash_refresh_token(token))
        if signed_in is None:
            return None
        user = await principals.cached_user(
            self.cache, signed_in.user_id, generation=signed_in.generation
        )
        if not principals.sign_in_stands(user, False, signed_in.expires_at, clock.now()):
            return None
        rows = await principals.cached_memberships(
            self.cache, signed_in.user_id, signed_in.generation
        )
        picked = None if rows is None else acting(rows, request.cookies.get(cookies.ORGANIZATION))
        if picked is None:
            return None
        found = await _key(self.cache, request, signed_in.user_id, picked[0].id)
        if found is None or found[1] != signed_in.generation:
            return None
        stored = _Stored.of(await self.cache.get_raw(found[0]))
        if stored is None or not (stored.fresh or found[0] in _rendering):
            return None
        csrf = cookies.csrf_token(self.settings, request.cookies[cookies.CSRF], token)
        return stored.filled(csrf.encode())
