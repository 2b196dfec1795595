"""Pure ASGI guard in front of the app: refuses control characters in the path, the query
string and the headers (422), bodies over the size limit (413, counted as they stream in,
`Content-Length` honoured) and JSON nested deeper than `MAX_JSON_DEPTH` (422), all before any
route parses them."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skypanel.http.errors import error_response

MAX_JSON_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit (rendered as 413 BODY_TOO_LARGE)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
        self.limit = limit


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON document (strings do not count)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _bad_text(scope: Scope) -> str | None:
    """What part of the request holds a control character, if any."""
    if _CONTROL.search(scope.get("path", "")):
        return "path"
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    if _CONTROL.search(query.decode("utf-8", "replace")):
        return "query"
    for name, value in scope.get("headers", []):
        if _HEADER_CONTROL.search(value):
            return f"header {name.decode('latin-1')}"
    return None


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 1_048_576) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _bad_text(scope)
        if where is not None:
            response = error_response(
                422,
                "VALIDATION_ERROR",
                f"Invalid input: the {where} contains a control character",
                fields=[{"field": where, "message": "must not contain control characters"}],
            )
            await response(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.max_body_bytes
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._too_large(scope, receive, send)
            return
        if "json" in headers.get("content-type", ""):
            await self._json(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the (bounded) JSON body, check its depth, then replay it to the app."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            response = error_response(
                422,
                "JSON_TOO_DEEP",
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                maxDepth=MAX_JSON_DEPTH,
                fields=[{"field": "body", "message": f"nests deeper than {MAX_JSON_DEPTH} levels"}],
            )
            await response(scope, receive, send)
            return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            "BODY_TOO_LARGE",
            f"The request body is larger than {self.max_body_bytes} bytes",
            maxBytes=self.max_body_bytes,
        )
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
