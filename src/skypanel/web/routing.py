"""Page routes turn the API's errors into what a browser needs.

A failed form (an `AppError` from a service, or an invalid field) goes back to the page it came
from with the error's own message as a flash; a failed page load shows an error page. The
request's transaction is already rolled back by then (the `Session` dependency saw the error).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse

from skypanel.kit.errors import AppError
from skypanel.web.page import SAFE_METHODS, CsrfRejected, Page, RedirectTo, SignInRequired
from skypanel.web.rendering import templates

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error_text(exc: AppError) -> str:
    """The API's message, with what the details add for a person (field errors, waiting time);
    a quota refusal already says in words what would be passed."""
    errors = exc.details.get("errors")
    if isinstance(errors, list) and errors:
        described = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return f"{exc.message} ({described})"
    fields = exc.details.get("fields")
    if isinstance(fields, list) and fields:
        named = "; ".join(f"{item['field']}: {item['message']}" for item in fields)
        return f"{exc.message} ({named})"
    wait = exc.details.get("retryAfter")
    if isinstance(wait, int) and wait > 0:
        minutes = max(1, round(wait / 60))
        return f"{exc.message} (in about {minutes} minute{'s' if minutes != 1 else ''})"
    return exc.message


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    page: Page | None = getattr(request.state, "page", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"page": page, "flashes": [], "title": title, "message": message, "status": status},
        status_code=status,
    )


def _sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login" if target == "/" else f"/login?next={target}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _failed(request: Request, exc: AppError) -> Response:
    page: Page | None = getattr(request.state, "page", None)
    if request.method in SAFE_METHODS or page is None:
        return _error_page(request, exc.status, exc.code.replace("_", " ").title(), error_text(exc))
    page.flash("error", error_text(exc))
    if page.htmx:
        response = page.render("partials/flashes.html", oob=True)
        response.headers["HX-Reswap"] = "none"
        return response
    return page.back()


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return _sign_in(request)
            except RedirectTo as redirect:
                return RedirectResponse(redirect.url, status_code=303)
            except CsrfRejected:
                return _error_page(
                    request,
                    403,
                    "Request refused",
                    "This form has expired or was sent from another site (its security token is "
                    "missing or wrong). Reload the page and try again.",
                )
            except AppError as exc:
                return _failed(request, exc)

        return guarded


def page_router(prefix: str = "") -> APIRouter:
    """A router of HTML pages (kept out of the API's OpenAPI schema)."""
    return APIRouter(prefix=prefix, route_class=PageRoute, include_in_schema=False)
