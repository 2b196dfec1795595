"""The organization a request acts in: chosen by `X-Organization-Id` (default: the caller's
first) or named in the path; anything the caller is not a member of is not found."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts.auth import CurrentUser
from skypanel.http import principals
from skypanel.http.deps import Session
from skypanel.kit.errors import NotFound
from skypanel.models import User
from skypanel.organizations import repository as orgs
from skypanel.organizations.context import OrgContext


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
