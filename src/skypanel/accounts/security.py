"""Password hashing (argon2id), JWT access tokens and opaque refresh tokens."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""argon2id with OWASP's recommended parameters (19 MiB, two passes, one lane). The library's
default (64 MiB, four lanes) held 64 MiB per sign-in in the web process, a third of its memory.
Hashes made with other parameters still verify, and are made anew at the next sign-in."""

_HASHING = 2
"""Hashes computed at once by a process: each holds its memory for its whole run."""


@functools.cache
def _hashing() -> ThreadPoolExecutor:
    """The threads that hash (argon2 releases the GIL): at most `_HASHING` at once, the others
    queued, whichever event loop asks."""
    return ThreadPoolExecutor(max_workers=_HASHING, thread_name_prefix="password-hash")


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown email as slow as one for a known
    email; made on first use, not by every process that imports this module."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """The password's hash, computed off the event loop (argon2 takes tens of milliseconds on
    purpose, and every other request of the process would wait for it)."""
    return await asyncio.get_running_loop().run_in_executor(_hashing(), _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed, checked off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing(), _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the SHA-256 under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
