"""Access tokens: short-lived signed JWTs that say who is calling (verified without the database;
the account's standing is checked by `skypanel.http.principals.refusal`)."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import jwt

from skypanel.kit import clock

_ALGORITHM = "HS256"
_LEEWAY = 5
_ISSUER = "skypanel"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    token_version: int


class TokenError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def issue_access_token(
    user_id: uuid.UUID, role: str, token_version: int, *, key: str, ttl_seconds: int
) -> str:
    issued = clock.now()
    claims = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "typ": "access",
        "iss": _ISSUER,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def decode_access_token(token: str, *, key: str) -> AccessClaims:
    """Verify a token. Verified tokens are remembered (signature checks cost ~0.2 ms), but the
    expiry is checked on every call."""
    claims, expires = _verified(token, key)
    if expires + _LEEWAY < time.time():
        raise TokenError("TOKEN_EXPIRED", "The access token has expired")
    return claims


@lru_cache(maxsize=8192)
def _verified(token: str, key: str) -> tuple[AccessClaims, float]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["sub", "exp", "iat", "typ", "ver"], "verify_iat": False},
            leeway=_LEEWAY,
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("TOKEN_EXPIRED", "The access token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("INVALID_TOKEN", "The access token is invalid") from exc
    if claims["typ"] != "access":
        raise TokenError("INVALID_TOKEN", "The access token is invalid")
    try:
        verified = AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            role=str(claims.get("role", "user")),
            token_version=int(claims["ver"]),
        )
        return verified, float(claims["exp"])
    except (ValueError, TypeError) as exc:
        raise TokenError("INVALID_TOKEN", "The access token is invalid") from exc
