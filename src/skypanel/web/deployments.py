"""The Deployments card of an app's page: the history with rollbacks, a redeploy (optionally on
a new image tag), the live log of a running deploy (polled until it ends), the git push URL,
push deploys of GitHub apps and the build settings. Every action is the API's own route."""

from __future__ import annotations

from fastapi import Response

from skypanel.deployments import endpoints as api
from skypanel.deployments import service
from skypanel.deployments.schemas import AutoDeployIn, BuildIn, RedeployIn
from skypanel.models.deployments import UNFINISHED
from skypanel.services.endpoints import view
from skypanel.web.page import CustomerPage
from skypanel.web.routing import page_router

router = page_router("/projects/{project_name}/services/{service_name}")
TEMPLATE = "services/partials/deployments.html"


def _back(project_name: str, service_name: str) -> str:
    return f"/projects/{project_name}/services/{service_name}"


@router.get("/deployments")
async def card(
    project_name: str, service_name: str, page: CustomerPage, shown: str | None = None
) -> Response:
    """The card; `shown`: the deploy the page was following, whose log stays on show."""
    project, app = await service.app(page.session, page.org, project_name, service_name)
    history = [api.view(row) for row in await service.history(page.session, app)]
    running = next((d for d in history if d.status in UNFINISHED), None)
    return page.render(
        TEMPLATE,
        item=view(project, app),
        loaded=True,
        deployments=history,
        running=running,
        ended=next((d for d in history if str(d.id) == shown), None) if running is None else None,
        build=service.build_settings(app) or {},
        hooked=await service.hook_of(page.session, app) is not None,
        may_manage=page.org.role in ("owner", "admin"),
    )


@router.get("/deployments/{deployment_id}/log")
async def log(
    project_name: str,
    service_name: str,
    deployment_id: str,
    page: CustomerPage,
    following: bool = False,
) -> Response:
    """The log so far; while the deploy runs, the fragment asks for itself again. `following`:
    the card's running deploy, whose end reloads the card (its history then shows the end)."""
    found = await api.deployment_log(
        page.request, project_name, service_name, deployment_id, page.org, page.session
    )
    base = _back(project_name, service_name)
    url = f"{base}/deployments/{deployment_id}/log" + ("?following=true" if following else "")
    card = f"{base}/deployments?shown={found.id}" if following and not found.live else None
    return page.render(TEMPLATE, log=found, url=url, card=card)


@router.post("/deployments/new")
async def redeploy(project_name: str, service_name: str, page: CustomerPage) -> Response:
    form = await page.form(RedeployIn)
    started = await api.redeploy(project_name, service_name, page.org, page.session, form)
    what = f"on {form.image}" if form.image else "again"
    page.flash("success", f"{service_name} is being deployed {what} ({started.trigger}).")
    return page.redirect(_back(project_name, service_name))


@router.post("/deployments/{deployment_id}/rollback")
async def rollback(
    project_name: str, service_name: str, deployment_id: str, page: CustomerPage
) -> Response:
    started = await api.rollback(project_name, service_name, deployment_id, page.org, page.session)
    to = started.image or (f"commit {started.commit[:12]}" if started.commit else "it")
    page.flash("success", f"{service_name} is being rolled back to {to}.")
    return page.redirect(_back(project_name, service_name))


@router.post("/build/save")
async def save_build(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await service.app(page.session, page.org, project_name, service_name)
    form = await page.form(BuildIn)
    await api.update_build(project_name, service_name, form, page.org, page.session)
    page.flash("success", f"Build settings of {service_name} saved; the next deploy uses them.")
    return page.redirect(_back(project_name, service_name))


@router.post("/auto-deploy/save")
async def save_auto_deploy(project_name: str, service_name: str, page: CustomerPage) -> Response:
    enabled = await page.value("enabled") == "true"
    body = AutoDeployIn(enabled=enabled)
    await api.set_auto_deploy(project_name, service_name, body, page.org, page.session)
    state = "deploys on every push" if enabled else "no longer deploys on push"
    page.flash("success", f"{service_name} {state}.")
    return page.redirect(_back(project_name, service_name))


@router.post("/deploy-hook/new")
async def new_hook(project_name: str, service_name: str, page: CustomerPage) -> Response:
    made = await api.create_deploy_hook(
        project_name, service_name, page.org, page.session, page.settings
    )
    page.flash(
        "success",
        "Deploy hook URL, shown only now (add it as a push webhook of your repository): "
        f"{made.url}",
    )
    return page.redirect(_back(project_name, service_name))


@router.post("/deploy-hook/delete")
async def delete_hook(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await api.delete_deploy_hook(project_name, service_name, page.org, page.session)
    page.flash("success", f"The deploy hook of {service_name} no longer works.")
    return page.redirect(_back(project_name, service_name))
