"""The browser's cookies: the session, the CSRF secret, the chosen organization, flash messages.

The session cookie holds the account's refresh token (opaque, stored hashed): every request
checks it against the database, so signing out, a password change or a disabled account ends
the session at once. It is never rotated by the web, so parallel requests cannot race.
The CSRF token sent in forms and `X-CSRF-Token` is an HMAC of a random per-browser secret,
replaced at every sign-in and sign-out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from skypanel.config import Settings

SESSION = "sp_session"
CSRF = "sp_csrf"
ORGANIZATION = "sp_org"
FLASH = "sp_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _sign(settings: Settings, purpose: str, value: str) -> str:
    key = f"{settings.jwt_key()}:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def csrf_token(settings: Settings, secret: str, session: str | None) -> str:
    """The form token of a CSRF secret, bound to the sign-in it is used with (`session`, the
    session cookie; None before signing in): a secret and token planted from another session,
    as by cookie tossing, do not match."""
    bound = hashlib.sha256((session or "").encode()).hexdigest()
    return _sign(settings, "csrf", f"{secret}:{bound}")


def csrf_valid(
    settings: Settings, secret: str | None, sent: str | None, session: str | None
) -> bool:
    if not secret or not sent:
        return False
    return hmac.compare_digest(csrf_token(settings, secret, session), sent)


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def encode_flashes(settings: Settings, flashes: list[dict[str, str]]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(flashes).encode()).decode()
    return f"{payload}.{_sign(settings, 'flash', payload)}"


def decode_flashes(settings: Settings, cookie: str | None) -> list[dict[str, str]]:
    payload, _, signature = (cookie or "").partition(".")
    if not payload or not hmac.compare_digest(_sign(settings, "flash", payload), signature):
        return []
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def put(
    response: Response, settings: Settings, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.production,
        path="/",
    )


def drop(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, httponly=True, samesite="lax", secure=settings.production, path="/"
    )


def same_site_path(request: Request, url: str | None, fallback: str) -> str:
    """A local path to go back to (from `next` or the Referer), never another site."""
    if not url:
        return fallback
    base = str(request.base_url).rstrip("/")
    if url.startswith(base):
        url = url[len(base) :] or "/"
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return fallback
    return url
