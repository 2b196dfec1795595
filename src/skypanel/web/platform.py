"""Admin console: container plans, the Easypanel connection, platform settings and branding."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.plans import endpoints as plans
from skypanel.plans.schemas import PlanIn, PlanUpdate
from skypanel.plans.service import get_plan
from skypanel.platform import service as platform
from skypanel.servers import endpoints as servers
from skypanel.servers.schemas import ServerIn, TestIn
from skypanel.web.page import AdminPage
from skypanel.web.routing import page_router

router = page_router("/admin")


@router.get("/plans")
async def plan_list(page: AdminPage) -> Response:
    return page.render(
        "admin/plans.html", plans=await plans.list_all_plans(page.user, page.session)
    )


@router.get("/plans/new")
async def new_plan(page: AdminPage) -> Response:
    return page.render("admin/plan_form.html", plan=None)


@router.post("/plans/new")
async def create_plan(page: AdminPage) -> Response:
    created = await plans.create_plan(await page.form(PlanIn), page.user, page.session)
    page.flash("success", f"Plan {created.name} created and open to subscribers.")
    return page.redirect("/admin/plans")


@router.get("/plans/{plan_id}")
async def edit_plan(plan_id: uuid.UUID, page: AdminPage) -> Response:
    return page.render("admin/plan_form.html", plan=await get_plan(page.session, plan_id))


@router.post("/plans/{plan_id}")
async def update_plan(plan_id: uuid.UUID, page: AdminPage) -> Response:
    form = await page.form(PlanUpdate)
    updated = await plans.update_plan(plan_id, form, page.user, page.session)
    page.flash("success", f"Plan {updated.name} saved. A new price applies from each renewal.")
    return page.redirect("/admin/plans")


@router.post("/plans/{plan_id}/active")
async def set_active(plan_id: uuid.UUID, page: AdminPage) -> Response:
    if await page.value("active") == "true":
        plan = await plans.activate_plan(plan_id, page.user, page.session)
        page.flash("success", f"Plan {plan.name} is open to new subscribers.")
    else:
        plan = await plans.deactivate_plan(plan_id, page.user, page.session)
        page.flash("success", f"Plan {plan.name} takes no new subscribers; current ones keep it.")
    return page.redirect("/admin/plans")


@router.get("/easypanel")
async def easypanel(page: AdminPage) -> Response:
    config = await servers.get_config(page.user, page.session)
    return page.render("admin/easypanel.html", config=config)


@router.post("/easypanel")
async def save_easypanel(page: AdminPage) -> Response:
    """Saved only after a successful connection test, unless "save anyway" is ticked."""
    form = await page.form(ServerIn)
    saved = await servers.save_config(form, page.user, page.session)
    page.flash(
        "success", f"Easypanel connection saved: {saved.api_url} ({saved.connection_status})."
    )
    return page.redirect("/admin/easypanel")


@router.post("/easypanel/test")
async def test_easypanel(page: AdminPage) -> Response:
    """Test the form's URL and key when both are filled in, else the saved connection."""
    body = await page.form(TestIn)
    given = body if body.api_url is not None and body.api_key is not None else None
    result = await servers.check_connection(page.user, page.session, given)
    return page.render("admin/partials/test_result.html", result=result)


@router.get("/settings")
async def settings(page: AdminPage) -> Response:
    return page.render("admin/settings.html", values=await platform.all_settings(page.session))


@router.post("/settings")
async def save_settings(page: AdminPage) -> Response:
    """Each setting through the settings service, which validates it like the API does."""
    posted = await page.request.form()
    actor = page.user.id
    branding = {
        "name": await page.value("name"),
        "logoUrl": await page.value("logo_url") or None,
        "accentColor": await page.value("accent_color"),
    }
    await platform.put_setting(page.session, "branding", branding, actor)
    logins = posted.get("customer_easypanel_logins") == "on"
    await platform.put_setting(page.session, "customer_easypanel_logins", logins, actor)
    grace = await page.value("billing_grace_days")
    await platform.put_setting(page.session, "billing_grace_days", grace, actor)
    page.flash("success", "Settings saved.")
    return page.redirect("/admin/settings")
