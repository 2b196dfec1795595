"""Projects: the list with services counted by status, create, the project page, its shared
variables, and deleting an empty project (confirmed by typing its name)."""

from __future__ import annotations

from fastapi import Response

from skypanel.accounts.verification import require_verified
from skypanel.kit.errors import InvalidInput
from skypanel.projects import endpoints as projects
from skypanel.projects import service
from skypanel.projects.env import project_env
from skypanel.projects.schemas import EnvIn, ProjectIn
from skypanel.services import endpoints as services
from skypanel.web import forms
from skypanel.web.dashboard import current_subscription
from skypanel.web.page import CustomerPage
from skypanel.web.pagecache import cached_page
from skypanel.web.routing import page_router

router = page_router("/projects")


@router.get("")
async def project_list(page: CustomerPage) -> Response:
    return page.render(
        "projects/list.html",
        projects=await projects.projects_of(page.request, page.org, page.session),
        subscription=await current_subscription(page),
    )


@router.post("")
async def create(page: CustomerPage) -> Response:
    require_verified(page.user, page.settings)
    form = await page.form(ProjectIn)
    created = await projects.create_project(form, page.org, page.session)
    page.flash("success", f"Project {created.project_name} created. Deploy its first service.")
    return page.redirect(f"/projects/{created.project_name}")


@router.get("/{project_name}")
@cached_page
async def detail(project_name: str, page: CustomerPage) -> Response:
    project = await projects.get_project(page.request, project_name, page.org, page.session)
    listed = await services.list_services(page.request, project_name, page.org, page.session)
    return page.render(
        "projects/detail.html",
        project=project,
        services=listed,
        env_text=forms.env_text(project.env),
    )


@router.post("/{project_name}/env")
async def save_env(project_name: str, page: CustomerPage) -> Response:
    """Values left masked keep their secret; services see changes after their next deploy."""
    found = await service.get(page.session, page.org, project_name)
    posted = forms.env_lines(await page.value("env"))
    env = forms.unmask(posted, project_env(found))
    await projects.update_env(project_name, EnvIn(env=env), page.org, page.session)
    page.flash("success", f"Variables of {project_name} saved ({len(env)} in all).")
    return page.redirect(f"/projects/{project_name}")


@router.post("/{project_name}/delete")
async def delete(project_name: str, page: CustomerPage) -> Response:
    await service.get(page.session, page.org, project_name)
    if await page.value("confirm") != project_name:
        raise InvalidInput(f"Type the project's name, {project_name}, to confirm deleting it")
    await projects.delete_project(project_name, page.org, page.session)
    page.flash("success", f"Project {project_name} is being deleted.")
    return page.redirect("/projects")
