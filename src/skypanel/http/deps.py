"""Request dependencies: the transaction, the signed-in user, the acting organization."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository as users
from skypanel.accounts.security import TokenError, decode_access_token
from skypanel.config import Settings
from skypanel.http import principals
from skypanel.kit.errors import Forbidden, NotFound, Unauthorized
from skypanel.models import User
from skypanel.organizations import repository as orgs
from skypanel.organizations.context import OrgContext


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, committed when the endpoint returns, before the response."""
    async with request.app.state.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


Session = Annotated[AsyncSession, Depends(_session, scope="function")]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


class InvalidToken(Unauthorized):
    code = "INVALID_TOKEN"


class TokenExpired(Unauthorized):
    code = "TOKEN_EXPIRED"


class TokenRevoked(Unauthorized):
    code = "TOKEN_REVOKED"


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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
    user = await principals.cached_user(cache, claims.user_id)
    if user is None:
        user = await users.get(session, claims.user_id)
        if user is not None:
            await principals.remember_user(cache, user)
    if user is None or not user.is_active:
        raise InvalidToken("The account no longer exists or is disabled")
    if user.token_version != claims.token_version:
        raise TokenRevoked("The access token has been revoked")
    return user


CurrentUser = Annotated[User, Depends(_current_user)]


async def _admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("Administrators only")
    return user


AdminUser = Annotated[User, Depends(_admin)]


class OrganizationNotFound(NotFound):
    code = "ORGANIZATION_NOT_FOUND"


async def org_context(session: AsyncSession, user: User, organization_id: str | None) -> OrgContext:
    """The caller's organization by id, or their first one; 404 for anything they are not in."""
    if organization_id is None:
        found = await orgs.first_membership(session, user.id)
    else:
        try:
            org_id = uuid.UUID(organization_id)
        except ValueError as exc:
            raise OrganizationNotFound("Organization not found") from exc
        found = await orgs.membership(session, org_id, user.id)
    if found is None:
        raise OrganizationNotFound("Organization not found")
    organization, membership = found
    return OrgContext(organization=organization, membership=membership, user=user)


async def _current_org(
    request: Request,
    user: CurrentUser,
    session: Session,
    x_organization_id: Annotated[str | None, Header()] = None,
) -> OrgContext:
    cache = request.app.state.cache
    found = await principals.cached_membership(cache, user.id, x_organization_id)
    if found is not None:
        return OrgContext(organization=found[0], membership=found[1], user=user)
    context = await org_context(session, user, x_organization_id)
    await principals.remember_membership(
        cache, user.id, x_organization_id, (context.organization, context.membership)
    )
    return context


CurrentOrg = Annotated[OrgContext, Depends(_current_org)]
"""The organization chosen by `X-Organization-Id`, defaulting to the caller's first."""


async def _path_org(organization_id: str, user: CurrentUser, session: Session) -> OrgContext:
    return await org_context(session, user, organization_id)


PathOrg = Annotated[OrgContext, Depends(_path_org)]
"""The organization named by the `{organization_id}` path parameter; 404 unless a member."""
