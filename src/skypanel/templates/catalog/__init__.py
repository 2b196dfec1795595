"""The built-in catalogue of popular apps, and its sync into `container_templates`.

The sync inserts the missing built-in templates and brings the content of the existing ones up to
date (schema, display name, description; no logo, as the panel loads nothing from elsewhere).
What admins own is left alone: whether a template is enabled, its display order and category,
and any template an admin created or took over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.models import ContainerTemplate
from skypanel.templates import repository
from skypanel.templates.catalog._analytics import ANALYTICS
from skypanel.templates.catalog._entry import CatalogEntry
from skypanel.templates.catalog._sites import SITES
from skypanel.templates.catalog._tools import TOOLS
from skypanel.templates.render import parse_schema
from skypanel.templates.schemas import TemplateIn
from skypanel.templates.service import TemplateExists, insert, new_template

BUILTIN: tuple[CatalogEntry, ...] = (*SITES, *ANALYTICS, *TOOLS)
__all__ = ["BUILTIN", "CatalogEntry", "SyncReport", "sync_catalog"]


@dataclass(frozen=True)
class SyncReport:
    """Template names by outcome; `skipped` names are held by templates the sync does not own
    (created by an admin, taken over by one, or inserted meanwhile by a concurrent sync)."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[str, ...]


async def sync_catalog(
    session: AsyncSession, entries: tuple[CatalogEntry, ...] = BUILTIN
) -> SyncReport:
    """Install or refresh the built-in templates in the caller's transaction (idempotent)."""
    existing = await repository.by_names(session, [entry.template_name for entry in entries])
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "skipped": []}
    for entry in entries:
        found = existing.get(entry.template_name)
        if found is None:
            kind = await _create(session, entry)
        elif not found.builtin:
            kind = "skipped"
        else:
            kind = "updated" if _refresh(found, entry) else "unchanged"
        outcome[kind].append(entry.template_name)
    await session.flush()
    if outcome["created"] or outcome["updated"]:
        await record(
            session,
            "container.template.sync",
            f"Template catalogue: {len(outcome['created'])} created,"
            f" {len(outcome['updated'])} updated",
            entity_type="container_template",
            metadata={"created": outcome["created"], "updated": outcome["updated"]},
        )
    return SyncReport(**{kind: tuple(names) for kind, names in outcome.items()})


async def _create(session: AsyncSession, entry: CatalogEntry) -> str:
    """Insert a built-in template; one created meanwhile (another sync, an admin) is skipped."""
    try:
        await insert(session, new_template(TemplateIn.model_validate(asdict(entry)), builtin=True))
    except TemplateExists:
        return "skipped"
    return "created"


def _refresh(template: ContainerTemplate, entry: CatalogEntry) -> bool:
    """Bring the shipped content up to date; True when something changed."""
    shipped = {
        "display_name": entry.display_name,
        "description": entry.description,
        "logo_url": None,
        "template_schema": parse_schema(entry.template_schema).stored(),
    }
    changed = {k: v for k, v in shipped.items() if getattr(template, k) != v}
    for field, value in changed.items():
        setattr(template, field, value)
    return bool(changed)
