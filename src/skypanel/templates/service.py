"""Templates: curated by admins (and the built-in catalogue), picked by users when enabled.

Every schema that is stored has passed the safety check and the format's validation. An admin
who changes the schema of a built-in template takes it over: it stops being `builtin`, so the
catalogue sync no longer overwrites it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import uow
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.models import ContainerTemplate, User
from skypanel.templates import repository
from skypanel.templates.render import parse_schema
from skypanel.templates.schemas import TemplateIn, TemplateUpdate

_NOT_NULL = {
    "display_name": "displayName",
    "template_schema": "templateSchema",
    "enabled": "enabled",
    "display_order": "displayOrder",
}

CACHED = "templates:"
"""Where the enabled catalogue is cached (dropped after every admin change)."""


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"


class TemplateExists(Conflict):
    code = "TEMPLATE_EXISTS"


async def list_templates(
    session: AsyncSession,
    *,
    enabled_only: bool,
    search: str | None = None,
    category: str | None = None,
) -> Sequence[ContainerTemplate]:
    return await repository.listed(
        session, enabled_only=enabled_only, search=search, category=category
    )


async def get_template(
    session: AsyncSession, template_id: uuid.UUID, *, enabled_only: bool, lock: bool = False
) -> ContainerTemplate:
    """A template by id; a disabled one is not found when `enabled_only`."""
    template = await repository.get(session, template_id, lock=lock)
    if template is None or (enabled_only and not template.enabled):
        raise TemplateNotFound("Template not found")
    return template


def new_template(data: TemplateIn, *, builtin: bool = False) -> ContainerTemplate:
    """A template row; its schema is safety-checked, validated and normalised."""
    return ContainerTemplate(
        id=uuid.uuid4(),
        **data.model_dump(by_alias=False, exclude={"template_schema"}),
        template_schema=parse_schema(data.template_schema).stored(),
        builtin=builtin,
    )


async def insert(session: AsyncSession, template: ContainerTemplate) -> ContainerTemplate:
    """Add a new template; TemplateExists (and nothing added) when its name is taken."""
    try:
        async with session.begin_nested():
            session.add(template)
            await session.flush()
    except IntegrityError as exc:
        raise TemplateExists(
            f"A template named {template.template_name} already exists", field="templateName"
        ) from exc
    return template


async def create_template(
    session: AsyncSession, admin: User, data: TemplateIn
) -> ContainerTemplate:
    template = await insert(session, new_template(data))
    await _log(session, admin, template, "create", f"Template {template.template_name} created")
    return template


async def update_template(
    session: AsyncSession, admin: User, template_id: uuid.UUID, data: TemplateUpdate
) -> ContainerTemplate:
    template = await get_template(session, template_id, enabled_only=False, lock=True)
    changes = data.model_dump(exclude_unset=True, by_alias=False)
    for field, value in changes.items():
        if value is None and field in _NOT_NULL:
            raise InvalidInput(f"{_NOT_NULL[field]} cannot be null", field=_NOT_NULL[field])
    if "template_schema" in changes:
        changes["template_schema"] = parse_schema(changes["template_schema"]).stored()
        if changes["template_schema"] != template.template_schema:
            template.builtin = False
    for field, value in changes.items():
        setattr(template, field, value)
    await session.flush()
    described = {
        field: "changed" if field == "template_schema" else _text(value)
        for field, value in changes.items()
    }
    await _log(
        session,
        admin,
        template,
        "update",
        f"Template {template.template_name} updated",
        {"changes": described},
    )
    return template


async def set_enabled(
    session: AsyncSession, admin: User, template_id: uuid.UUID, enabled: bool
) -> ContainerTemplate:
    """Disabled templates disappear for users; services deployed from them are not affected."""
    template = await get_template(session, template_id, enabled_only=False, lock=True)
    template.enabled = enabled
    await session.flush()
    verb = "enable" if enabled else "disable"
    await _log(session, admin, template, verb, f"Template {template.template_name} {verb}d")
    return template


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def _log(
    session: AsyncSession,
    admin: User,
    template: ContainerTemplate,
    action: str,
    message: str,
    metadata: dict[str, Any] | None = None,
) -> None:
    uow.stale_cache(session, CACHED)
    await record(
        session,
        f"container.template.{action}",
        message,
        user_id=admin.id,
        entity_type="container_template",
        entity_id=template.id,
        metadata=metadata,
    )
