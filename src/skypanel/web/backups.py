"""The service page's "Backups" card (a database's, or one section per volume of an app) and its
forms, loaded into the page by htmx. Every form posts to the same functions as the JSON API."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import RedirectResponse

from skypanel.backups import endpoints as api
from skypanel.backups import service as backups
from skypanel.backups.schemas import RestoreIn, ScheduleIn
from skypanel.services import service as services
from skypanel.web.page import CustomerPage
from skypanel.web.routing import page_router

router = page_router("/projects/{project_name}/services/{service_name}")


def _back(page: CustomerPage, project_name: str, service_name: str) -> Response:
    return page.redirect(f"/projects/{project_name}/services/{service_name}")


async def _known(page: CustomerPage, project_name: str, service_name: str) -> None:
    """Another organization's names are not found, before any field of the form is judged."""
    await services.get(page.session, page.org, project_name, service_name)


@router.get("/backups")
async def card(project_name: str, service_name: str, page: CustomerPage) -> Response:
    _, service = await services.get(page.session, page.org, project_name, service_name)
    kind = service.service_type
    configured = await backups.storage(page.session) is not None
    found = await api.list_backups(project_name, service_name, page.org, page.session)
    return page.render(
        "services/partials/backups.html",
        item={"project_name": project_name, "service_name": service_name, "service_type": kind},
        backups=found,
        configured=configured,
        defaults={"schedule": backups.DEFAULT_SCHEDULE, "retention": backups.DEFAULT_RETENTION},
        loaded=True,
    )


@router.post("/backups/run")
async def run(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await api.run_backup(project_name, service_name, page.org, page.session)
    page.flash("success", f"A backup of {service_name} has started.")
    return _back(page, project_name, service_name)


async def _schedule_form(page: CustomerPage, project_name: str, service_name: str) -> ScheduleIn:
    await _known(page, project_name, service_name)
    data = {
        "schedule": await page.value("schedule"),
        "retention": await page.value("retention"),
        "enabled": await page.value("enabled") == "on",
    }
    return page.validate(ScheduleIn, data)


def _scheduled(page: CustomerPage, what: str, body: ScheduleIn) -> None:
    state = f"on ({body.schedule} UTC, keeping {body.retention})" if body.enabled else "off"
    page.flash("success", f"Scheduled backups of {what} are {state}.")


@router.post("/backups/schedule")
async def schedule(project_name: str, service_name: str, page: CustomerPage) -> Response:
    body = await _schedule_form(page, project_name, service_name)
    await api.set_schedule(project_name, service_name, body, page.org, page.session)
    _scheduled(page, service_name, body)
    return _back(page, project_name, service_name)


@router.post("/backups/volumes/{volume}/run")
async def run_volume(
    project_name: str, service_name: str, volume: str, page: CustomerPage
) -> Response:
    await api.run_volume_backup(project_name, service_name, volume, page.org, page.session)
    page.flash("success", f"A backup of volume {volume} has started.")
    return _back(page, project_name, service_name)


@router.post("/backups/volumes/{volume}/schedule")
async def schedule_volume(
    project_name: str, service_name: str, volume: str, page: CustomerPage
) -> Response:
    body = await _schedule_form(page, project_name, service_name)
    await api.set_volume_schedule(project_name, service_name, volume, body, page.org, page.session)
    _scheduled(page, f"volume {volume}", body)
    return _back(page, project_name, service_name)


@router.get("/backups/{backup_id}/download")
async def download(
    project_name: str, service_name: str, backup_id: str, page: CustomerPage
) -> Response:
    """Off to the bucket, through the link that works for 15 minutes."""
    found = await api.download_backup(project_name, service_name, backup_id, page.org, page.session)
    return RedirectResponse(found.url, status_code=303)


@router.post("/backups/{backup_id}/delete")
async def delete(
    project_name: str, service_name: str, backup_id: str, page: CustomerPage
) -> Response:
    await api.delete_backup(project_name, service_name, backup_id, page.org, page.session)
    page.flash("success", "The backup was deleted.")
    return _back(page, project_name, service_name)


@router.post("/backups/{backup_id}/restore")
async def restore(
    project_name: str, service_name: str, backup_id: str, page: CustomerPage
) -> Response:
    await _known(page, project_name, service_name)
    body = await page.form(RestoreIn)
    await api.restore_backup(project_name, service_name, backup_id, body, page.org, page.session)
    page.flash("success", f"{service_name} is being restored from the backup.")
    return _back(page, project_name, service_name)
