"""One-click app templates: users browse the enabled ones, admins curate the catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts.auth import AdminUser, CurrentUser
from skypanel.http.caching import CachedRead
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.templates import service
from skypanel.templates.schemas import TemplateIn, TemplateOut, TemplateUpdate

router = APIRouter(prefix="/api/containers", tags=["templates"])

Search = Annotated[
    str | None, Query(max_length=100, description="Matches name, description, category")
]
Category = Annotated[str | None, Query(max_length=100)]
CATALOGUE = CachedRead("templates", 300.0, TypeAdapter(list[TemplateOut]))


def _catalogue_key(search: str | None, category: str | None) -> str:
    return f"{service.CACHED}{search or ''}:{category or ''}"


async def catalogue(
    request: Request, session: AsyncSession, search: str | None = None, category: str | None = None
) -> list[TemplateOut]:
    """Enabled templates by display order, then name (cached five minutes)."""
    return await CATALOGUE.value(
        request,
        _catalogue_key(search, category),
        lambda: _listed(session, True, search, category),
    )


@router.get("/templates", response_model=list[TemplateOut], responses=responses(401, 422))
async def list_templates(
    request: Request,
    _: CurrentUser,
    session: Session,
    search: Search = None,
    category: Category = None,
) -> Response:
    """Enabled templates by display order, then name (cached five minutes)."""
    return await CATALOGUE.response(
        request,
        _catalogue_key(search, category),
        lambda: _listed(session, True, search, category),
    )


@router.get(
    "/templates/{template_id}", response_model=TemplateOut, responses=responses(401, 404, 422)
)
async def get_template(template_id: uuid.UUID, _: CurrentUser, session: Session) -> TemplateOut:
    """An enabled template with its input schema and services."""
    template = await service.get_template(session, template_id, enabled_only=True)
    return TemplateOut.model_validate(template)


@router.get(
    "/admin/templates", response_model=list[TemplateOut], responses=responses(401, 403, 422)
)
async def list_all_templates(
    _: AdminUser, session: Session, search: Search = None, category: Category = None
) -> list[TemplateOut]:
    """Every template, enabled or not."""
    return await _listed(session, False, search, category)


@router.post(
    "/admin/templates",
    response_model=TemplateOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 422),
)
async def create_template(body: TemplateIn, admin: AdminUser, session: Session) -> TemplateOut:
    """Add a template; its schema is validated and safety-checked (422 UNSAFE_DEPLOYMENT)."""
    return TemplateOut.model_validate(await service.create_template(session, admin, body))


@router.put(
    "/admin/templates/{template_id}",
    response_model=TemplateOut,
    responses=responses(401, 403, 404, 422),
)
async def update_template(
    template_id: uuid.UUID,
    body: TemplateUpdate,
    admin: AdminUser,
    session: Session,
) -> TemplateOut:
    """Change some fields; a new schema is validated and safety-checked like on create."""
    return TemplateOut.model_validate(
        await service.update_template(session, admin, template_id, body)
    )


@router.post(
    "/admin/templates/{template_id}/enable",
    response_model=TemplateOut,
    responses=responses(401, 403, 404, 422),
)
async def enable_template(
    template_id: uuid.UUID, admin: AdminUser, session: Session
) -> TemplateOut:
    return TemplateOut.model_validate(await service.set_enabled(session, admin, template_id, True))


@router.post(
    "/admin/templates/{template_id}/disable",
    response_model=TemplateOut,
    responses=responses(401, 403, 404, 422),
)
async def disable_template(
    template_id: uuid.UUID, admin: AdminUser, session: Session
) -> TemplateOut:
    """Hide a template from users; services already deployed from it keep running."""
    return TemplateOut.model_validate(await service.set_enabled(session, admin, template_id, False))


async def _listed(
    session: AsyncSession, enabled_only: bool, search: str | None, category: str | None
) -> list[TemplateOut]:
    found = await service.list_templates(
        session, enabled_only=enabled_only, search=search, category=category
    )
    return [TemplateOut.model_validate(t) for t in found]
