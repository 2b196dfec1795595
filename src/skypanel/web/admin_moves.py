"""Admin console: moving an organization to another server (plan, start, progress), on the
move service the API uses."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response
from sqlalchemy import select

from skypanel.kit.errors import InvalidInput
from skypanel.models import EasypanelServer, Organization, OrganizationMove
from skypanel.moves import service as moves
from skypanel.servers import endpoints as servers
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin/moves")
RECENT = 20


async def _organization(page: AdminPage) -> Organization:
    slug = (await page.value("organization")).strip()
    found = await page.session.scalar(select(Organization).where(Organization.slug == slug))
    if found is None:
        raise InvalidInput(f"No organization has the slug {slug!r}", field="organization")
    return found


async def _target(page: AdminPage) -> uuid.UUID:
    try:
        return uuid.UUID(await page.value("server"))
    except ValueError:
        raise InvalidInput("Choose the server to move to", field="server") from None


async def _page(page: AdminPage, **extra: Any) -> Response:
    rows = (
        await page.session.execute(
            select(OrganizationMove, Organization.name)
            .join(Organization, Organization.id == OrganizationMove.organization_id)
            .order_by(OrganizationMove.created_at.desc())
            .limit(RECENT)
        )
    ).all()
    names = dict(
        (await page.session.execute(select(EasypanelServer.id, EasypanelServer.name))).all()
    )
    return page.render(
        "admin/moves.html",
        moves=[(moves.move_out(move), name) for move, name in rows],
        server_names=names,
        servers=await servers.list_servers(page.user, page.session),
        **extra,
    )


@router.get("")
async def moves_page(page: AdminPage) -> Response:
    """The moves so far with their progress, and a form to plan one."""
    return await _page(page)


@router.post("/plan")
async def plan(page: AdminPage) -> Response:
    """The dry run: each step and each service's downtime, with a button to start it."""
    organization, target = await _organization(page), await _target(page)
    planned = moves.plan_out(await moves.plan(page.session, organization.id, target))
    return await _page(page, plan=planned, organization=organization, target=target)


@router.post("/start")
async def start(page: AdminPage) -> Response:
    organization, target = await _organization(page), await _target(page)
    move = await moves.start(page.session, organization.id, target)
    page.flash(
        "success",
        f"Moving {organization.name}: {move.steps_total} steps queued; progress shows below.",
    )
    return page.redirect("/admin/moves")
