"""Registration, login with lockout, rotating refresh tokens, password changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository, verification
from skypanel.accounts.errors import EmailTaken, WrongPassword
from skypanel.accounts.security import (
    hash_password,
    hash_refresh_token,
    new_refresh_token,
    password_needs_rehash,
    verify_password,
)
from skypanel.activity.service import record
from skypanel.config import Settings
from skypanel.kit import clock
from skypanel.kit.context import current_request
from skypanel.kit.errors import AppError, Unauthorized
from skypanel.kit.tokens import issue_access_token
from skypanel.models import RefreshToken, SignInFailure, User


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"
    keeps_work = True


class AccountLocked(AppError):
    code = "ACCOUNT_LOCKED"
    status = 423
    keeps_work = True


class InvalidRefreshToken(Unauthorized):
    code = "INVALID_REFRESH_TOKEN"


class RefreshTokenReused(Unauthorized):
    code = "REFRESH_TOKEN_REUSED"
    keeps_work = True


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_token_id: uuid.UUID


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str,
    role: str = "user",
    verified: bool = False,
) -> User:
    """A new account; unless `verified` (the address is already proven), it is emailed a link
    to confirm its address."""
    email = email.strip().lower()
    if await repository.by_email(session, email) is not None:
        raise EmailTaken("An account with this email already exists", field="email")
    user = User(
        id=uuid.uuid4(),
        email=email,
        name=name,
        password_hash=await hash_password(password),
        role=role,
        email_verified_at=clock.now() if verified else None,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise EmailTaken("An account with this email already exists", field="email") from exc
    if not verified:
        await verification.send_verification(session, user)
    return user


async def new_sign_in(session: AsyncSession, settings: Settings, user: User) -> IssuedTokens:
    """Tokens for a fresh sign-in of `user` (a new refresh-token family)."""
    return await _issue(session, settings, user, family_id=uuid.uuid4())


MAX_LOCKOUT = timedelta(days=1)


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> tuple[User, IssuedTokens]:
    """Check the password. Repeated failures from one address lock this account out from that
    address only, for longer each time (so nobody else can lock its owner out).

    Raises `InvalidCredentials` or `AccountLocked` after recording the failure in the session;
    both keep the work (`AppError.keeps_work`), so the failure count survives the refusal.
    """
    now = clock.now()
    ctx = current_request()
    address = (ctx.ip_address if ctx else None) or "unknown"
    user = await repository.by_email(session, email.strip(), for_update=True)
    failed = None if user is None else await repository.sign_in_failure(session, user.id, address)
    if failed is not None and failed.locked_until is not None and failed.locked_until > now:
        raise _locked(failed.locked_until, now)
    # Verified even for an unknown email (against a dummy hash): the answer takes as long.
    verified = await verify_password(None if user is None else user.password_hash, password)
    if user is None or not verified or not user.is_active:
        if user is not None:
            locked_until = await _count_failure(session, settings, user, address, failed, now)
            if locked_until is not None:
                raise _locked(locked_until, now)
        raise InvalidCredentials("Wrong email or password")
    if failed is not None:
        await repository.forget_failures(session, user.id, address)
    user.last_login_at = now
    if password_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await record(session, "auth.login", f"{user.email} signed in", user_id=user.id)
    return user, await _issue(session, settings, user, family_id=uuid.uuid4())


def _locked(until: datetime, now: datetime) -> AccountLocked:
    seconds = max(1, int((until - now).total_seconds()))
    return AccountLocked(
        "Too many failed sign-in attempts from here; try again later", retryAfter=seconds
    )


async def _count_failure(
    session: AsyncSession,
    settings: Settings,
    user: User,
    address: str,
    failed: SignInFailure | None,
    now: datetime,
) -> datetime | None:
    """Count a failure from `address`; returns when the lockout it starts ends, if it starts one
    (each lockout twice as long as the one before, at most a day)."""
    if failed is None:
        failed = SignInFailure(user_id=user.id, address=address, failures=0, lockouts=0)
        session.add(failed)
    failed.failures += 1
    failed.updated_at = now
    if failed.failures >= settings.login_max_failures:
        failed.failures = 0
        failed.lockouts += 1
        lockout = timedelta(seconds=settings.login_lockout_seconds) * 2 ** (failed.lockouts - 1)
        failed.locked_until = now + min(lockout, MAX_LOCKOUT)
        await record(
            session,
            "auth.lockout",
            f"{user.email} locked out from {address} after repeated failed sign-ins",
            user_id=user.id,
            status="warning",
            metadata={"address": address, "until": failed.locked_until.isoformat()},
        )
        return failed.locked_until
    await record(
        session,
        "auth.login_failed",
        f"Failed sign-in for {user.email}",
        user_id=user.id,
        status="failure",
        metadata={"address": address},
    )
    return None


async def refresh(
    session: AsyncSession, settings: Settings, token: str
) -> tuple[User, IssuedTokens]:
    """Exchange a refresh token for a new pair; reusing a rotated one revokes its family."""
    now = clock.now()
    stored = await repository.refresh_by_hash(session, hash_refresh_token(token))
    if stored is None or stored.expires_at <= now:
        raise InvalidRefreshToken("The refresh token is invalid or expired")
    if stored.revoked_at is not None:
        if stored.replaced_by_id is not None:
            # A stolen token may be in use: end the sign-in and every access token at once.
            await repository.revoke_family(session, stored.family_id, now)
            await _end_access_tokens(session, stored.user_id)
            raise RefreshTokenReused("The refresh token was already used; sign in again")
        raise InvalidRefreshToken("The refresh token has been revoked")
    user = await repository.get(session, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken("The account no longer exists or is disabled")
    issued = await _issue(session, settings, user, family_id=stored.family_id)
    stored.revoked_at = now
    stored.replaced_by_id = issued.refresh_token_id
    return user, issued


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the refresh token's whole family (this sign-in on this device) and end the access
    tokens issued so far (other devices get new ones with their own refresh tokens)."""
    stored = await repository.refresh_by_hash(session, hash_refresh_token(token))
    if stored is not None:
        await repository.revoke_family(session, stored.family_id, clock.now())
        await _end_access_tokens(session, stored.user_id)


async def end_sessions(session: AsyncSession, user: User) -> None:
    """Every sign-in of the account ends now: refresh tokens revoked, access tokens refused."""
    user.token_version += 1
    await repository.revoke_all(session, user.id, clock.now())


async def _end_access_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    user = await repository.get(session, user_id)
    if user is not None:
        user.token_version += 1


async def change_password(
    session: AsyncSession, settings: Settings, user: User, *, current: str, new: str
) -> IssuedTokens:
    """New password; every other session's tokens stop working at once."""
    stored = await repository.get(session, user.id)
    if stored is None:
        raise InvalidCredentials("The account no longer exists")
    user = stored
    if not await verify_password(user.password_hash, current):
        raise WrongPassword("The current password is wrong", field="currentPassword")
    user.password_hash = await hash_password(new)
    await end_sessions(session, user)
    await record(session, "auth.password_change", f"{user.email} changed password", user_id=user.id)
    return await _issue(session, settings, user, family_id=uuid.uuid4())


async def _issue(
    session: AsyncSession, settings: Settings, user: User, *, family_id: uuid.UUID
) -> IssuedTokens:
    token, token_hash = new_refresh_token()
    ctx = current_request()
    stored = RefreshToken(
        id=uuid.uuid4(),
        user_id=user.id,
        family_id=family_id,
        token_hash=token_hash,
        expires_at=clock.now() + timedelta(days=settings.refresh_token_ttl_days),
        ip_address=ctx.ip_address if ctx else None,
        user_agent=ctx.user_agent if ctx else None,
    )
    session.add(stored)
    await session.flush()
    access = issue_access_token(
        user.id,
        user.role,
        user.token_version,
        key=settings.jwt_key(),
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return IssuedTokens(access, token, settings.access_token_ttl_seconds, stored.id)
