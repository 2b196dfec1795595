"""The deploy wizard: 1. what to deploy (a one-click app, an app, a database), 2. its form,
3. the quota check, then the API's own deployment (which enforces the quota again)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from fastapi import Response

from skypanel.accounts.verification import require_verified
from skypanel.kit.errors import AppError, InvalidInput
from skypanel.projects import service as projects
from skypanel.projects.endpoints import get_project
from skypanel.quotas.service import Usage
from skypanel.services import endpoints as services
from skypanel.services.schemas import AppIn, DatabaseIn, TemplateDeployIn
from skypanel.templates import endpoints as catalog
from skypanel.templates.schemas import Blueprint, TemplateOut
from skypanel.web import forms
from skypanel.web.page import CustomerPage, Page
from skypanel.web.routing import error_text, page_router
from skypanel.web.usage import one_service, template_services, usage_bars

router = page_router("/projects/{project_name}/deploy")
T = TypeVar("T")
Kind = Literal["template", "app", "database"]
SECRET_FIELDS = frozenset({"registry_password", "csrf_token"})
DATABASES = (
    ("postgres", "PostgreSQL", "Relational, with extensions"),
    ("mysql", "MySQL", "Relational"),
    ("mariadb", "MariaDB", "MySQL-compatible"),
    ("mongo", "MongoDB", "Documents"),
    ("redis", "Redis", "Cache and queues"),
)


async def _posted(page: Page) -> dict[str, str]:
    form = await page.request.form()
    return {name: value.strip() for name, value in form.items() if isinstance(value, str)}


@router.get("")
async def wizard(
    project_name: str,
    page: CustomerPage,
    kind: Kind = "template",
    search: str = "",
    category: str = "",
) -> Response:
    return await _wizard(page, project_name, kind, search, category)


async def _wizard(
    page: Page,
    project_name: str,
    kind: Kind,
    search: str = "",
    category: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    project = await get_project(page.request, project_name, page.org, page.session)
    listed, categories = [], []
    if kind == "template":
        everything = await catalog.catalogue(page.request, page.session)
        categories = sorted({t.category for t in everything if t.category})
        listed = await catalog.catalogue(
            page.request, page.session, search or None, category or None
        )
    return page.render(
        "deploy/wizard.html",
        status,
        project=project,
        kind=kind,
        templates=listed,
        categories=categories,
        search=search,
        category=category,
        databases=DATABASES,
        values=values or {},
    )


@router.get("/template/{template_id}")
async def template_form(project_name: str, template_id: uuid.UUID, page: CustomerPage) -> Response:
    template = await catalog.get_template(template_id, page.user, page.session)
    blueprint = Blueprint.model_validate(template.template_schema)
    return await _template_form(page, project_name, template, blueprint)


async def _template_form(
    page: Page,
    project_name: str,
    template: TemplateOut,
    blueprint: Blueprint,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "deploy/template.html",
        status,
        project=await get_project(page.request, project_name, page.org, page.session),
        chosen=template,
        blueprint=blueprint,
        values=values or {},
    )


async def _attempt(page: Page, deployment: Awaitable[T]) -> T:
    """The API's deployment inside a savepoint: refused, it leaves nothing behind, and the objects
    the page already loaded stay usable for the form that goes back."""
    savepoint = await page.session.begin_nested()
    try:
        return await deployment
    except AppError:
        await savepoint.rollback()
        raise


def _refused(page: Page, exc: AppError, posted: dict[str, str], hidden: set[str]) -> None:
    """The form comes back with what was typed (but for passwords, which are never sent back)
    and the API's reason."""
    page.flash("error", error_text(exc))
    for name in SECRET_FIELDS | hidden:
        posted.pop(name, None)


@router.post("/check")
async def check(project_name: str, page: CustomerPage) -> Response:
    """The quota now, and what this deployment would add (a preview; the server decides)."""
    await projects.get(page.session, page.org, project_name)
    posted = await _posted(page)
    adding: Usage | None
    if template_id := posted.get("template_id"):
        try:
            chosen = uuid.UUID(template_id)
        except ValueError as exc:
            raise InvalidInput("No such template", field="templateId") from exc
        template = await catalog.get_template(chosen, page.user, page.session)
        adding = template_services(template.template_schema)
    else:
        adding = await one_service(page, posted)
    bars = await usage_bars(page, adding)
    return page.render("partials/usage.html", bars=bars, preview=True)


@router.post("/template/{template_id}")
async def deploy_template(
    project_name: str, template_id: uuid.UUID, page: CustomerPage
) -> Response:
    """Generated passwords are shown once, on the page this answers with."""
    require_verified(page.user, page.settings)
    await projects.get(page.session, page.org, project_name)
    posted = await _posted(page)
    inputs = {
        k.removeprefix("input_"): v for k, v in posted.items() if k.startswith("input_") and v
    }
    template = await catalog.get_template(template_id, page.user, page.session)
    blueprint = Blueprint.model_validate(template.template_schema)
    secrets = {field.name for field in blueprint.inputs if field.is_secret}
    try:
        body = page.validate(
            TemplateDeployIn,
            {
                "template_id": template_id,
                "inputs": inputs,
                "service_prefix": posted.get("prefix") or None,
            },
        )
        done = await _attempt(
            page,
            services.deploy_template(project_name, body, page.org, page.session),
        )
    except AppError as exc:
        _refused(page, exc, posted, {f"input_{name}" for name in secrets})
        return await _template_form(page, project_name, template, blueprint, posted, exc.status)
    names = ", ".join(item.service_name for item in done.services)
    page.flash("success", f"{template.display_name} is being deployed: {names}.")
    return page.render(
        "deploy/done.html",
        project_name=project_name,
        chosen=template,
        deployed=done,
        secrets=secrets,
    )


@router.post("/app")
async def deploy_app(project_name: str, page: CustomerPage) -> Response:
    require_verified(page.user, page.settings)
    await projects.get(page.session, page.org, project_name)
    posted = await _posted(page)
    try:
        data: dict[str, Any] = {
            "service_name": posted.get("service_name", ""),
            "source": _source(posted),
            "env": forms.env_lines(posted.get("env", "")),
            "domains": forms.domain_lines(posted.get("domains", "")),
            "ports": forms.port_lines(posted.get("ports", "")),
            "mounts": forms.volume_lines(posted.get("volumes", "")),
            "resources": forms.resources(posted),
        }
        body = page.validate(AppIn, data)
        item = await _attempt(page, services.deploy_app(project_name, body, page.org, page.session))
    except AppError as exc:
        _refused(page, exc, posted, set())
        return await _wizard(page, project_name, "app", values=posted, status=exc.status)
    return _deployed(page, project_name, item.service_name)


@router.post("/database")
async def deploy_database(project_name: str, page: CustomerPage) -> Response:
    require_verified(page.user, page.settings)
    await projects.get(page.session, page.org, project_name)
    posted = await _posted(page)
    data = {
        "service_name": posted.get("service_name", ""),
        "type": posted.get("type", ""),
        "version": posted.get("version") or None,
        "resources": forms.resources(posted),
    }
    try:
        body = page.validate(DatabaseIn, data)
        item = await _attempt(
            page,
            services.deploy_database(project_name, body, page.org, page.session),
        )
    except AppError as exc:
        _refused(page, exc, posted, set())
        return await _wizard(page, project_name, "database", values=posted, status=exc.status)
    return _deployed(page, project_name, item.service_name)


def _deployed(page: Page, project_name: str, service_name: str) -> Response:
    page.flash("success", f"{service_name} is being deployed; its status follows below.")
    return page.redirect(f"/projects/{project_name}/services/{service_name}")


def _source(posted: dict[str, str]) -> dict[str, Any]:
    """The chosen source's own fields (the others stay in the form, unused)."""
    kind = posted.get("source_type", "image")
    fields = {
        "image": {
            "image": "image",
            "username": "registry_username",
            "password": "registry_password",
        },
        "github": {"owner": "gh_owner", "repo": "gh_repo", "ref": "gh_ref", "path": "gh_path"},
        "git": {"url": "git_url", "ref": "git_ref", "path": "git_path"},
        "dockerfile": {"dockerfile": "dockerfile"},
    }.get(kind, {})
    source: dict[str, Any] = {"type": kind}
    source.update({name: posted[field] for name, field in fields.items() if posted.get(field)})
    return source
