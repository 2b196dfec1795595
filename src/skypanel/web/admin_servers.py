"""Admin console: the fleet of Easypanel servers, on the API's own routes."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.servers import endpoints as api
from skypanel.servers import fleet
from skypanel.servers.schemas import FleetServerIn, FleetServerUpdate
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin/servers")


@router.get("")
async def servers(page: AdminPage) -> Response:
    """Each server's state, capacity, reservations, real use, customers, latency and errors."""
    return page.render(
        "admin/servers.html", servers=await api.list_servers(page.user, page.session)
    )


@router.get("/new")
async def new_server(page: AdminPage) -> Response:
    return page.render("admin/server_form.html", server=None)


@router.post("/new")
async def add_server(page: AdminPage) -> Response:
    added = await api.add_server(await page.form(FleetServerIn), page.user, page.session)
    page.flash("success", f"Server {added.name} added ({added.connection_status}).")
    return page.redirect("/admin/servers")


@router.get("/{server_id}")
async def edit_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    server = await fleet.get(page.session, server_id)
    [shown] = await fleet.views(page.session, [server])
    return page.render("admin/server_form.html", server=shown)


@router.post("/{server_id}")
async def update_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    body = await page.form(FleetServerUpdate)
    updated = await api.update_server(server_id, body, page.user, page.session)
    page.flash("success", f"Server {updated.name} saved.")
    return page.redirect("/admin/servers")


@router.post("/{server_id}/test")
async def test_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    tested = await api.test_server(server_id, page.user, page.session)
    outcome = "answers" if tested.connection_status == "connected" else "does not answer"
    page.flash(
        "success" if tested.connection_status == "connected" else "error",
        f"Server {tested.name} {outcome}: {tested.last_error or 'connection OK'}.",
    )
    return page.redirect("/admin/servers")


@router.post("/{server_id}/drain")
async def drain_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    drained = await api.drain_server(server_id, page.user, page.session)
    page.flash("success", f"Server {drained.name} keeps its customers and takes no new ones.")
    return page.redirect("/admin/servers")


@router.post("/{server_id}/resume")
async def resume_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    body = FleetServerUpdate(state="active")
    resumed = await api.update_server(server_id, body, page.user, page.session)
    page.flash("success", f"Server {resumed.name} takes new subscriptions again.")
    return page.redirect("/admin/servers")


@router.post("/{server_id}/remove")
async def remove_server(server_id: uuid.UUID, page: AdminPage) -> Response:
    await api.remove_server(server_id, page.user, page.session)
    page.flash("success", "Server removed.")
    return page.redirect("/admin/servers")
