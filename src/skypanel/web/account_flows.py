"""The pages behind the emailed links: forgotten password, address confirmation, invitations.

A link only opens a page; the change happens when its form is sent (mail scanners that follow
links change nothing). Each form calls the same service as the API route for it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Response

from skypanel.accounts import recovery, verification
from skypanel.accounts.schemas import PasswordResetConfirmIn, PasswordResetIn, TokenIn
from skypanel.kit.errors import InvalidInput
from skypanel.organizations import invitations
from skypanel.organizations.schemas import AcceptIn, AcceptNewIn
from skypanel.web.page import PublicPage, SignedInPage
from skypanel.web.routing import page_router

router = page_router()


@router.get("/forgot-password")
async def forgot_password_form(page: PublicPage, email: str = "") -> Response:
    return page.render("auth/forgot_password.html", email=email)


@router.post("/forgot-password")
async def forgot_password(page: PublicPage) -> Response:
    form = await page.form(PasswordResetIn)
    await recovery.request_password_reset(page.session, form.email)
    page.flash("success", recovery.REQUESTED)
    return page.redirect("/login")


@router.get("/reset-password")
async def reset_password_form(page: PublicPage, token: str = "") -> Response:
    return page.render("auth/reset_password.html", token=token)


@router.post("/reset-password")
async def reset_password(page: PublicPage) -> Response:
    posted = await page.request.form()
    if posted.get("password") != posted.get("repeat_password"):
        raise InvalidInput("The passwords do not match", field="repeatPassword")
    form = await page.form(PasswordResetConfirmIn)
    user = await recovery.reset_password(page.session, form.token, form.password)
    page.sign_out()
    page.flash("success", "Password changed; every sign-in ended. Sign in with the new password.")
    return page.redirect(f"/login?{urlencode({'email': user.email})}")


@router.get("/verify-email")
async def verify_email_form(page: PublicPage, token: str = "") -> Response:
    return page.render("auth/verify_email.html", token=token)


@router.post("/verify-email")
async def verify_email(page: PublicPage) -> Response:
    form = await page.form(TokenIn)
    user = await verification.verify_email(page.session, form.token)
    page.flash("success", f"{user.email} is confirmed: you can add funds and deploy.")
    if page.viewer is not None:
        return page.redirect("/")
    return page.redirect(f"/login?{urlencode({'email': user.email})}")


@router.post("/verify-email/resend")
async def resend_verification(page: SignedInPage) -> Response:
    await verification.resend_verification(page.session, page.user)
    page.flash("success", f"A new confirmation link is on its way to {page.user.email}.")
    return page.back()


@router.get("/invitations/accept")
async def invitation(page: PublicPage, token: str = "") -> Response:
    found, organization = await invitations.by_token(page.session, token)
    return page.render(
        "auth/invitation.html", token=token, invitation=found, organization=organization
    )


@router.post("/invitations/accept")
async def accept(page: SignedInPage) -> Response:
    form = await page.form(AcceptIn)
    organization = await invitations.accept(page.session, page.user, form.token)
    page.choose_organization(str(organization.id))
    page.flash("success", f"You joined {organization.name}.")
    return page.redirect("/organization")


@router.post("/invitations/accept-new")
async def accept_new(page: PublicPage) -> Response:
    form = await page.form(AcceptNewIn)
    user, organization, issued = await invitations.accept_new(
        page.session, page.settings, form.token, name=form.name, password=form.password
    )
    page.sign_in(issued.refresh_token)
    page.choose_organization(str(organization.id))
    page.flash("success", f"Welcome, {user.name}! You joined {organization.name}.")
    return page.redirect("/organization")
