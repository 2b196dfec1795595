"""Sign in, register, sign out, and the account page (password change)."""

from __future__ import annotations

from fastapi import Response

from skypanel.accounts import endpoints as account_endpoints
from skypanel.accounts import service as accounts
from skypanel.accounts.schemas import EmailChangeIn, LoginIn, PasswordChangeIn, RegisterIn
from skypanel.kit.errors import AppError, InvalidInput
from skypanel.organizations import service as organizations
from skypanel.web import cookies
from skypanel.web.page import Page, PublicPage, SignedInPage
from skypanel.web.routing import error_text, page_router

router = page_router()


def _next(page: Page, url: str | None) -> str:
    return cookies.same_site_path(page.request, url, "/")


@router.get("/login")
async def login_form(page: PublicPage, next: str | None = None, email: str = "") -> Response:
    if page.viewer is not None:
        return page.redirect(_next(page, next))
    return page.render("auth/login.html", next=next or "", email=email)


@router.post("/login")
async def login(page: PublicPage) -> Response:
    email, target = await page.value("email"), await page.value("next")
    try:
        form = await page.form(LoginIn)
        _, issued = await accounts.login(
            page.session, page.settings, email=form.email, password=form.password
        )
    except (accounts.InvalidCredentials, accounts.AccountLocked) as exc:
        return _retry(page, "auth/login.html", exc, email=email, next=target)
    except InvalidInput as exc:
        return _retry(page, "auth/login.html", exc, email=email, next=target)
    page.sign_in(issued.refresh_token)
    return page.redirect(_next(page, target))


def _retry(page: Page, template: str, exc: AppError, **values: str) -> Response:
    """The form again, with the error and what was typed (except passwords)."""
    page.flash("error", error_text(exc))
    return page.render(template, status=exc.status, **values)


@router.get("/register")
async def register_form(page: PublicPage) -> Response:
    if page.viewer is not None:
        return page.redirect("/")
    return page.render("auth/register.html", email="", name="")


@router.post("/register")
async def register(page: PublicPage) -> Response:
    email, name = await page.value("email"), await page.value("name")
    try:
        form = await page.form(RegisterIn)
        user, _, issued = await organizations.register(
            page.session,
            page.settings,
            email=str(form.email),
            password=form.password,
            name=form.name,
        )
    except AppError as exc:
        return _retry(page, "auth/register.html", exc, email=email, name=name)
    page.sign_in(issued.refresh_token)
    page.flash("success", f"Welcome, {user.name}! Your account and organization are ready.")
    return page.redirect("/")


@router.post("/logout")
async def logout(page: PublicPage) -> Response:
    """Revoke this sign-in on the server, then forget the cookies."""
    token = page.request.cookies.get(cookies.SESSION)
    if token:
        await accounts.logout(page.session, token)
    page.sign_out()
    page.flash("success", "You have signed out.")
    return page.redirect("/login")


@router.get("/account")
async def account(page: SignedInPage) -> Response:
    return page.render("account.html")


@router.post("/account/email")
async def change_email(page: SignedInPage) -> Response:
    """A link goes to the new address; the address changes once it is followed."""
    body = await page.form(EmailChangeIn)
    answered = await account_endpoints.change_email(body, page.user, page.session)
    page.flash("success", answered.message)
    return page.redirect("/account")


@router.post("/account/password")
async def change_password(page: SignedInPage) -> Response:
    posted = await page.request.form()
    if posted.get("new_password") != posted.get("repeat_password"):
        raise InvalidInput("The new passwords do not match")
    form = await page.form(PasswordChangeIn)
    issued = await accounts.change_password(
        page.session, page.settings, page.user, current=form.current_password, new=form.new_password
    )
    page.sign_in(issued.refresh_token)
    page.flash("success", "Password changed. You were signed out everywhere else.")
    return page.redirect("/account")
