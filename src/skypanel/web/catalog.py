"""Admin console: the one-click template catalogue (enable, disable, order, category, create and
edit with the schema as JSON, checked for validity and safety by the templates service)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import Response

from skypanel.kit.errors import InvalidInput
from skypanel.templates import endpoints as catalog
from skypanel.templates.schemas import TemplateIn, TemplateUpdate
from skypanel.templates.service import get_template
from skypanel.web.page import AdminPage, Page
from skypanel.web.routing import page_router

router = page_router("/admin/templates")
TEXT_FIELDS = ("display_name", "description", "category", "logo_url", "display_order")


@router.get("")
async def template_list(page: AdminPage, search: str = "", category: str = "") -> Response:
    everything = await catalog.list_all_templates(page.user, page.session)
    listed = await catalog.list_all_templates(
        page.user, page.session, search or None, category or None
    )
    return page.render(
        "admin/templates.html",
        templates=listed,
        categories=sorted({t.category for t in everything if t.category}),
        enabled=sum(t.enabled for t in everything),
        total=len(everything),
        search=search,
        category=category,
    )


@router.get("/new")
async def new_template(page: AdminPage) -> Response:
    return page.render("admin/template_form.html", entry=None, schema_text=_EXAMPLE)


@router.post("/new")
async def create(page: AdminPage) -> Response:
    data = await _fields(page)
    data["template_name"] = await page.value("template_name")
    data["enabled"] = (await page.request.form()).get("enabled") == "on"
    body = page.validate(TemplateIn, data)
    created = await catalog.create_template(body, page.user, page.session)
    page.flash("success", f"Template {created.display_name} created.")
    return page.redirect("/admin/templates")


@router.get("/{template_id}")
async def edit(template_id: uuid.UUID, page: AdminPage) -> Response:
    template = await get_template(page.session, template_id, enabled_only=False)
    schema_text = json.dumps(template.template_schema, indent=2)
    return page.render("admin/template_form.html", entry=template, schema_text=schema_text)


@router.post("/{template_id}")
async def update(template_id: uuid.UUID, page: AdminPage) -> Response:
    """The edit form (every field), or a row's quick edit (order and category only)."""
    data = await _fields(page)
    body = page.validate(TemplateUpdate, data)
    saved = await catalog.update_template(template_id, body, page.user, page.session)
    page.flash("success", f"Template {saved.display_name} saved.")
    return page.redirect("/admin/templates") if body.template_schema else page.back()


@router.post("/{template_id}/enabled")
async def set_enabled(template_id: uuid.UUID, page: AdminPage) -> Response:
    user, session = page.user, page.session
    if await page.value("enabled") == "true":
        saved = await catalog.enable_template(template_id, user, session)
        page.flash("success", f"{saved.display_name} is enabled: customers can deploy it.")
    else:
        saved = await catalog.disable_template(template_id, user, session)
        page.flash("success", f"{saved.display_name} is disabled; deployed services keep running.")
    return page.back("/admin/templates")


async def _fields(page: Page) -> dict[str, Any]:
    """The posted fields (empty ones omitted) and the schema parsed from its JSON text."""
    posted = await page.request.form()
    data: dict[str, Any] = {
        name: value.strip()
        for name in TEXT_FIELDS
        if isinstance(value := posted.get(name), str) and value.strip()
    }
    schema = posted.get("template_schema")
    if isinstance(schema, str) and schema.strip():
        try:
            data["template_schema"] = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"The template schema is not valid JSON: {exc.msg} (line {exc.lineno}, "
                f"column {exc.colno})"
            ) from exc
    return data


_EXAMPLE = json.dumps(
    {
        "inputs": [{"name": "adminEmail", "label": "Admin email", "required": True}],
        "services": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "env": {"ADMIN_EMAIL": "${adminEmail}"},
                "domains": [{"port": 80}],
                "resources": {"cpuCores": "0.5", "memoryGb": "0.5", "storageGb": "1"},
            }
        ],
    },
    indent=2,
)
