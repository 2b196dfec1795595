"""Admin console: the backup storage (an S3-compatible bucket), on the API's own routes."""

from __future__ import annotations

from fastapi import Response

from skypanel.backups import endpoints as api
from skypanel.backups.schemas import StorageIn
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin")


@router.get("/backups")
async def storage(page: AdminPage) -> Response:
    shown = await api.get_storage(page.user, page.session)
    return page.render("admin/backups.html", storage=shown)


@router.post("/backups")
async def save(page: AdminPage) -> Response:
    body = await page.form(StorageIn)
    saved = await api.save_storage(body, page.user, page.session)
    page.flash(
        "success",
        f"Backups go to bucket {saved.bucket}; it is being registered on every Easypanel server.",
    )
    return page.redirect("/admin/backups")
