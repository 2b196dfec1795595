"""Pure ASGI middleware: request id and access log, then per-client and per-user rate limits."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skypanel.http.errors import error_response
from skypanel.http.ratelimit import RateLimiter
from skypanel.kit.context import RequestContext, set_request

log = structlog.get_logger("skypanel.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives every request an id (or keeps a sane incoming `X-Request-Id`) and logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        client = scope.get("client")
        ctx = RequestContext(
            request_id=request_id,
            ip_address=client[0] if client else None,
            user_agent=(headers.get("user-agent") or "")[:512] or None,
        )
        set_request(ctx)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                request_id=request_id,
            )
            set_request(None)


LIMITED_FORMS = frozenset({"/login", "/register"})
"""Pages whose form posts count like anonymous API calls (sign-in guessing, sign-up spam)."""


class RateLimitMiddleware:
    """Tiered limits: anonymous clients by address; signed-in users (and admins) by user id.
    Applies to the API and to the posts of the sign-in and registration forms."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _limited(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        verdict = await self.limiter.check(
            Headers(scope=scope).get("authorization"), client[0] if client else "unknown"
        )
        if verdict is not None:
            response = error_response(
                429,
                "RATE_LIMITED",
                "Too many requests; slow down",
                retryAfter=verdict,
            )
            response.headers["Retry-After"] = str(verdict)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _limited(scope: Scope) -> bool:
    path: str = scope["path"]
    return path.startswith("/api/") or (scope["method"] == "POST" and path in LIMITED_FORMS)
