"""The organization switcher, new organizations, members (add, role, remove, transfer) and
invitations by email (send, send again, revoke)."""

from __future__ import annotations

import uuid

from fastapi import Response

from skypanel.organizations import endpoints as organization_api
from skypanel.organizations import invitations, repository, service
from skypanel.organizations.auth import org_context
from skypanel.organizations.schemas import (
    InvitationIn,
    MemberIn,
    OrganizationIn,
    RoleIn,
    TransferIn,
)
from skypanel.web.page import SignedInPage
from skypanel.web.routing import page_router

router = page_router("/organization")


@router.get("")
async def members(page: SignedInPage) -> Response:
    rows = [] if page.acting is None else await repository.members(page.session, page.acting.id)
    invited = (
        await invitations.pending(page.session, page.acting)
        if page.acting is not None and page.acting.role in ("owner", "admin")
        else []
    )
    return page.render("organization.html", members=rows, invitations=invited)


@router.post("/switch")
async def switch(page: SignedInPage) -> Response:
    """Act in another organization (the browser's `X-Organization-Id`)."""
    chosen = await org_context(page.session, page.user, await page.value("organization_id"))
    page.choose_organization(str(chosen.id))
    page.flash("success", f"You are now working in {chosen.organization.name}.")
    return page.back()


@router.post("/new")
async def create(page: SignedInPage) -> Response:
    form = await page.form(OrganizationIn)
    created = await service.create_organization(page.session, page.user, form.name)
    page.choose_organization(str(created.id))
    page.flash("success", f"Organization {created.name} created; you are working in it now.")
    return page.redirect("/organization")


@router.post("/members")
async def add_member(page: SignedInPage) -> Response:
    form = await page.form(MemberIn)
    added = await organization_api.add_member(form, page.org, page.session)
    page.flash("success", f"{added.name} ({added.email}) joined as {form.role}.")
    return page.redirect("/organization")


@router.post("/members/{user_id}/role")
async def change_role(user_id: uuid.UUID, page: SignedInPage) -> Response:
    form = await page.form(RoleIn)
    await organization_api.change_role(user_id, form, page.org, page.session)
    page.flash("success", f"Role changed to {form.role}.")
    return page.redirect("/organization")


@router.post("/members/{user_id}/remove")
async def remove_member(user_id: uuid.UUID, page: SignedInPage) -> Response:
    await organization_api.remove_member(user_id, page.org, page.session)
    if user_id == page.user.id:
        page.flash("success", f"You left {page.org.organization.name}.")
        page.forget_organization()
        return page.redirect("/organization")
    page.flash("success", "Member removed.")
    return page.redirect("/organization")


@router.post("/transfer")
async def transfer(page: SignedInPage) -> Response:
    form = await page.form(TransferIn)
    await organization_api.transfer(form, page.org, page.session)
    page.flash("success", "Ownership transferred; you are now an admin of the organization.")
    return page.redirect("/organization")


@router.post("/invitations")
async def invite(page: SignedInPage) -> Response:
    form = await page.form(InvitationIn)
    sent = await organization_api.invite(form, page.org, page.session)
    page.flash("success", f"Invitation sent to {sent.email}.")
    return page.redirect("/organization")


@router.post("/invitations/{invitation_id}/resend")
async def resend_invitation(invitation_id: uuid.UUID, page: SignedInPage) -> Response:
    sent = await organization_api.resend_invitation(invitation_id, page.org, page.session)
    page.flash("success", f"Invitation sent again to {sent.email}.")
    return page.redirect("/organization")


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(invitation_id: uuid.UUID, page: SignedInPage) -> Response:
    await organization_api.revoke_invitation(invitation_id, page.org, page.session)
    page.flash("success", "Invitation withdrawn.")
    return page.redirect("/organization")
