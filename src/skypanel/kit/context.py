"""Per-request facts (request id, client address, user agent) carried through contextvars."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    ip_address: str | None = None
    user_agent: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("skypanel_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None


def set_request(ctx: RequestContext | None) -> object:
    return _current.set(ctx)
