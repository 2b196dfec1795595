"""A service's page: live status (polled while it deploys), start/stop/restart, variables with
masked secrets, resources, database connection details, a following log viewer, delete."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from skypanel.kit.errors import InvalidInput
from skypanel.servers.degraded import ServerDown
from skypanel.services import endpoints as services
from skypanel.services import service
from skypanel.services.schemas import EnvIn, LogsOut, ResourcesIn, ServiceOut
from skypanel.services.secrets import service_env
from skypanel.web import forms
from skypanel.web.page import CustomerPage, Page
from skypanel.web.pagecache import cached_page
from skypanel.web.routing import page_router

router = page_router("/projects/{project_name}/services/{service_name}")
LOG_LINES = 200

Verb = Literal["start", "stop", "restart"]
DONE = {"start": "is starting", "stop": "is stopping", "restart": "is restarting"}


async def _live(
    page: Page, project_name: str, service_name: str, reveal: bool = False
) -> ServiceOut:
    """The service with the status Easypanel reports now (the API's own read)."""
    return await services.get_service(
        page.request, project_name, service_name, page.org, page.session, reveal=reveal
    )


@router.get("")
@cached_page
async def detail(project_name: str, service_name: str, page: CustomerPage) -> Response:
    item = await _live(page, project_name, service_name)
    return page.render(
        "services/detail.html",
        item=item,
        env_text=forms.env_text(item.env),
        may_reveal=page.org.role in ("owner", "admin"),
    )


@router.get("/status")
async def status(project_name: str, service_name: str, page: CustomerPage) -> Response:
    item = await _live(page, project_name, service_name)
    return page.render("services/partials/status.html", item=item)


@router.get("/row")
async def row(project_name: str, service_name: str, page: CustomerPage) -> Response:
    """The project table's row, polled while the service is on its way somewhere; once it is
    gone (deleted), the project page reloads to show what is left."""
    try:
        item = await _live(page, project_name, service_name)
    except service.ServiceNotFound:
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return page.render("services/partials/row.html", item=item)


@router.get("/reveal/{part}")
async def reveal(
    project_name: str, service_name: str, part: Literal["env", "connection"], page: CustomerPage
) -> Response:
    """Secret values in clear, for owners and admins (the API's `?reveal=true`)."""
    item = await _live(page, project_name, service_name, reveal=True)
    return page.render(
        f"services/partials/{part}.html", item=item, env_text=forms.env_text(item.env), shown=True
    )


@router.post("/delete")
async def delete(project_name: str, service_name: str, page: CustomerPage) -> Response:
    """Confirmed by typing the service's name (the form's field, or htmx's prompt)."""
    await service.get(page.session, page.org, project_name, service_name)
    typed = page.request.headers.get("hx-prompt") or await page.value("confirm")
    if typed.strip() != service_name:
        raise InvalidInput(f"Type the service's name, {service_name}, to confirm deleting it")
    await services.delete_service(project_name, service_name, page.org, page.session)
    page.flash(
        "success", f"Service {service_name} is being deleted; its quota is freed once it is gone."
    )
    return page.redirect(f"/projects/{project_name}")


@router.post("/env")
async def save_env(project_name: str, service_name: str, page: CustomerPage) -> Response:
    """Values left masked keep their secret; the app is redeployed with the new variables."""
    _, found = await service.get(page.session, page.org, project_name, service_name)
    env = forms.unmask(forms.env_lines(await page.value("env")), service_env(found))
    await services.update_env(project_name, service_name, EnvIn(env=env), page.org, page.session)
    page.flash("success", f"Variables of {service_name} saved; it is being redeployed.")
    return page.redirect(f"/projects/{project_name}/services/{service_name}")


@router.post("/resources")
async def save_resources(project_name: str, service_name: str, page: CustomerPage) -> Response:
    form = await page.form(ResourcesIn)
    item = await services.update_resources(project_name, service_name, form, page.org, page.session)
    limits = item.resources
    page.flash(
        "success",
        f"Resources of {service_name}: {limits.cpu_cores:g} vCPU, {limits.memory_gb:g} GB memory, "
        f"{limits.storage_gb:g} GB storage.",
    )
    return page.redirect(f"/projects/{project_name}/services/{service_name}")


@router.get("/logs")
async def logs(
    project_name: str, service_name: str, page: CustomerPage, cursor: str | None = None
) -> Response:
    """New lines after `cursor`; the response carries the next poll (every few seconds). While
    the service's server is down the box says so, and keeps asking."""
    try:
        found = await services.read_logs(
            page.request, project_name, service_name, page.org, page.session, cursor, LOG_LINES
        )
    except ServerDown as exc:
        found = LogsOut(source="none", lines=[], next_cursor=None, note=exc.message)
        cursor = None
    assert isinstance(found, LogsOut)
    return page.render(
        "services/partials/logs.html",
        logs=found,
        first=cursor is None,
        url=f"/projects/{project_name}/services/{service_name}/logs",
    )


@router.post("/{verb}")
async def act(project_name: str, service_name: str, verb: Verb, page: CustomerPage) -> Response:
    """From the project's table (htmx: the row is replaced) or the service's page."""
    item = await services.act(project_name, service_name, verb, page.org, page.session)
    page.flash("success", f"{service_name} {DONE[verb]}.")
    if page.htmx:
        return page.render("services/partials/row.html", item=item, oob=True)
    return page.redirect(f"/projects/{project_name}/services/{service_name}")
