"""`Page`: what every view gets — the transaction, the signed-in viewer, branding, CSRF, flashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from skypanel.accounts import repository as users
from skypanel.accounts.security import hash_refresh_token
from skypanel.config import Settings
from skypanel.http import principals
from skypanel.http.caching import cache_of
from skypanel.http.deps import AppSettings, Session
from skypanel.kit import clock
from skypanel.kit.cache import Cache
from skypanel.kit.errors import Forbidden, InvalidInput
from skypanel.models import Membership, Organization, User
from skypanel.organizations import repository as orgs
from skypanel.organizations.context import OrgContext
from skypanel.platform.service import cached_setting
from skypanel.web import cookies
from skypanel.web.rendering import templates

M = TypeVar("M", bound=BaseModel)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Exception):
    """No valid session: the browser goes to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


class RedirectTo(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass
class Page:
    request: Request
    session: AsyncSession
    settings: Settings
    branding: dict[str, Any]
    csrf_secret: str
    viewer: User | None = None
    generation: int | None = None
    """The viewer's cache generation, read when the sign-in was checked (None: the cache could
    not say); what is cached about the viewer for this page is read and stored under it."""
    acting: OrgContext | None = None
    organizations: list[tuple[Organization, str]] = field(default_factory=list)
    flashes: list[dict[str, str]] = field(default_factory=list)
    _set: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    _drop: set[str] = field(default_factory=set)

    @property
    def user(self) -> User:
        if self.viewer is None:
            raise SignInRequired
        return self.viewer

    @property
    def org(self) -> OrgContext:
        if self.acting is None:
            raise SignInRequired
        return self.acting

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def flash(self, kind: str, text: str) -> None:
        self.flashes.append({"kind": kind, "text": text})

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        shown = cookies.decode_flashes(self.settings, self.request.cookies.get(cookies.FLASH))
        response = templates.TemplateResponse(
            self.request,
            template,
            {"page": self, "flashes": shown + self.flashes, **context},
            status_code=status,
        )
        if shown:
            self._drop.add(cookies.FLASH)
        self._finish(response)
        return response

    def redirect(self, url: str) -> Response:
        """See other (303); flashes travel in a signed cookie. htmx follows with `HX-Redirect`."""
        response: Response
        if self.htmx:
            response = Response(status_code=204, headers={"HX-Redirect": url})
        else:
            response = RedirectResponse(url, status_code=303)
        if self.flashes:
            self._set[cookies.FLASH] = (cookies.encode_flashes(self.settings, self.flashes), None)
        self._finish(response)
        return response

    def back(self, fallback: str = "/") -> Response:
        """Redirect to the page the form was on."""
        referer = self.request.headers.get("referer")
        return self.redirect(cookies.same_site_path(self.request, referer, fallback))

    @property
    def csrf(self) -> str:
        if cookies.SESSION in self._drop:
            session = None
        elif cookies.SESSION in self._set:
            session = self._set[cookies.SESSION][0]
        else:
            session = self.request.cookies.get(cookies.SESSION)
        return cookies.csrf_token(self.settings, self.csrf_secret, session)

    def sign_in(self, refresh_token: str) -> None:
        """The session cookie, and a fresh CSRF secret (nothing from before the sign-in counts)."""
        self._set[cookies.SESSION] = (refresh_token, self.settings.refresh_token_ttl_days * 86400)
        self.csrf_secret = cookies.new_csrf_secret()

    def sign_out(self) -> None:
        self._drop |= {cookies.SESSION, cookies.ORGANIZATION}
        self.csrf_secret = cookies.new_csrf_secret()

    def choose_organization(self, organization_id: str) -> None:
        self._set[cookies.ORGANIZATION] = (organization_id, None)

    def forget_organization(self) -> None:
        self._drop.add(cookies.ORGANIZATION)

    def _finish(self, response: Response) -> None:
        if self.request.cookies.get(cookies.CSRF) != self.csrf_secret:
            self._set[cookies.CSRF] = (self.csrf_secret, None)
        for name in self._drop:
            cookies.drop(response, self.settings, name)
        for name, (value, max_age) in self._set.items():
            cookies.put(response, self.settings, name, value, max_age)

    async def form(self, model: type[M]) -> M:
        """The posted form validated by the API's own input model (empty fields are omitted)."""
        posted = await self.request.form()
        data: dict[str, Any] = {
            name: value
            for name in model.model_fields
            if isinstance(value := posted.get(name), str) and value.strip() != ""
        }
        return self.validate(model, data)

    def validate(self, model: type[M], data: dict[str, Any]) -> M:
        """`data` as the API's input model, or a 422 naming each field that is wrong."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise InvalidInput(_describe(exc)) from exc

    async def value(self, name: str) -> str:
        value = (await self.request.form()).get(name)
        return value.strip() if isinstance(value, str) else ""


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        parts = [str(part) for part in error["loc"] if not isinstance(part, int)]
        name = " ".join(dict.fromkeys(parts)).replace("_", " ").capitalize() if parts else "Form"
        problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


async def _page(request: Request, session: Session, settings: AppSettings) -> Page:
    secret = request.cookies.get(cookies.CSRF) or cookies.new_csrf_secret()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(cookies.CSRF_HEADER)
        if sent is None:
            value = (await request.form()).get(cookies.CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        sent_secret = request.cookies.get(cookies.CSRF)
        signed_in = request.cookies.get(cookies.SESSION)
        if not cookies.csrf_valid(settings, sent_secret, sent, signed_in):
            raise CsrfRejected
    cache = cache_of(request)
    branding: dict[str, Any] = await cached_setting(cache, session, "branding")
    page = Page(request, session, settings, branding, secret)
    page.viewer, page.generation = await _viewer(
        cache, session, request.cookies.get(cookies.SESSION)
    )
    request.state.page = page
    return page


async def _viewer(
    cache: Cache, session: AsyncSession, token: str | None
) -> tuple[User | None, int | None]:
    """The account behind a session cookie, if the sign-in is still live: from the cache when
    it was found live under the user's current generation, else from the database; and that
    generation."""
    if not token:
        return None, None
    token_hash, now = hash_refresh_token(token), clock.now()
    signed_in = await principals.cached_sign_in(cache, token_hash)
    if signed_in is not None:
        cached = await principals.cached_user(
            cache, signed_in.user_id, generation=signed_in.generation
        )
        if cached is not None:
            stands = principals.sign_in_stands(cached, False, signed_in.expires_at, now)
            return (cached, signed_in.generation) if stands else (None, None)
    stored = await users.refresh_by_hash(session, token_hash, lock=False)
    if stored is None:
        return None, None
    # The generation is read before the sign-in is read (again) and the account: a revocation
    # that commits meanwhile leaves what is remembered here under a generation gone stale.
    generation = await principals.user_generation(cache, stored.user_id)
    await session.refresh(stored)
    user = await users.get(session, stored.user_id)
    if not principals.sign_in_stands(user, stored.revoked_at is not None, stored.expires_at, now):
        return None, None
    assert user is not None
    if generation is not None:
        await principals.remember_user(cache, user, generation=generation)
        await principals.remember_sign_in(cache, token_hash, user.id, stored.expires_at, generation)
    return user, generation


PublicPage = Annotated[Page, Depends(_page)]


async def _signed_in(page: PublicPage) -> Page:
    user = page.user
    rows = await _memberships(page, user)
    page.organizations = [(org, member.role) for org, member in rows]
    picked = acting(rows, page.request.cookies.get(cookies.ORGANIZATION))
    if picked is not None:
        page.acting = OrgContext(organization=picked[0], membership=picked[1], user=user)
    return page


def acting(
    rows: Sequence[tuple[Organization, Membership]], chosen: str | None
) -> tuple[Organization, Membership] | None:
    """The organization a browser acts in: the one its cookie chose, if still a member of it,
    else the first it joined."""
    return next((row for row in rows if str(row[0].id) == chosen), rows[0] if rows else None)


async def _memberships(page: Page, user: User) -> Sequence[tuple[Organization, Membership]]:
    """The viewer's organizations (the switcher; the first acts unless the cookie chose one)."""
    cache, generation = cache_of(page.request), page.generation
    if generation is not None:
        found = await principals.cached_memberships(cache, user.id, generation)
        if found is not None:
            return found
    rows = await orgs.memberships_of(page.session, user.id)
    if generation is not None:
        await principals.remember_memberships(cache, user.id, rows, generation)
    return rows


SignedInPage = Annotated[Page, Depends(_signed_in)]
"""Any signed-in account, with or without an organization (admins created by the CLI)."""


async def _customer(page: SignedInPage) -> Page:
    if page.acting is None:
        raise RedirectTo("/admin" if page.user.role == "admin" else "/organization")
    return page


CustomerPage = Annotated[Page, Depends(_customer)]
"""A signed-in member acting in an organization (the switcher's choice, else their first)."""


async def _admin(page: SignedInPage) -> Page:
    if page.user.role != "admin":
        raise Forbidden("Administrators only")
    return page


AdminPage = Annotated[Page, Depends(_admin)]
