"""Who is calling: the account behind a verified bearer token, on every request. The rule that
decides (`skypanel.http.principals.refusal`) is the one the cached-read fast path applies too."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from skypanel.accounts import repository as users
from skypanel.accounts.verification import require_verified
from skypanel.http import principals
from skypanel.http.deps import AppSettings, Session, bearer
from skypanel.kit.errors import AppError, Forbidden, Unauthorized
from skypanel.kit.tokens import TokenError, decode_access_token
from skypanel.models import User


class InvalidToken(Unauthorized):
    code = "INVALID_TOKEN"


class TokenExpired(Unauthorized):
    code = "TOKEN_EXPIRED"


class TokenRevoked(Unauthorized):
    code = "TOKEN_REVOKED"


_REFUSED: dict[principals.Refusal, type[AppError]] = {
    principals.Refusal.NO_ACCOUNT: InvalidToken,
    principals.Refusal.REVOKED: TokenRevoked,
}


async def _current_user(request: Request, session: Session, settings: AppSettings) -> User:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("Authentication required")
    try:
        claims = decode_access_token(token, key=settings.jwt_key())
    except TokenError as exc:
        error = TokenExpired if exc.code == "TOKEN_EXPIRED" else InvalidToken
        raise error(exc.message) from exc
    cache = request.app.state.cache
    generation = await principals.user_generation(cache, claims.user_id)
    user = await principals.cached_user(cache, claims.user_id, generation=generation)
    if user is None:
        user = await users.get(session, claims.user_id)
        if user is not None:
            await principals.remember_user(cache, user, generation=generation)
    refused = principals.refusal(user, claims)
    if refused is not None:
        raise _REFUSED[refused](refused.value)
    assert user is not None
    return user


CurrentUser = Annotated[User, Depends(_current_user)]


async def _admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("Administrators only")
    return user


AdminUser = Annotated[User, Depends(_admin)]


async def verified_user(user: CurrentUser, settings: AppSettings) -> User:
    """The caller, once their address is confirmed (a route's `dependencies=` may name it)."""
    require_verified(user, settings)
    return user


VerifiedUser = Annotated[User, Depends(verified_user)]
"""The signed-in user, refused (403 `EMAIL_NOT_VERIFIED`) until their address is confirmed:
for paying and deploying."""
