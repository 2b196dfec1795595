"""The API documentation: Swagger UI at /docs from the vendored assets (no CDN), and an OpenAPI
document that declares the bearer scheme on every route that needs a signed-in account, so
Swagger UI's "Authorize" button works, and the answers every route can give before its own code
runs (the input guard's 400/413/422, the rate limiter's 429) in the panel's one error format.
`SKYPANEL_API_DOCS=false` serves neither."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts

from skypanel.accounts.auth import CurrentUser
from skypanel.http.errors import ErrorResponse, responses

OPENAPI_URL = "/openapi.json"
ASSETS = "/static/vendor/swagger-ui"
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


def _signed_in() -> Callable[..., Any]:
    dependency: Callable[..., Any] = get_args(CurrentUser)[1].dependency
    return dependency


def _needs_token(dependant: Dependant, marker: Callable[..., Any]) -> bool:
    return any(sub.call is marker or _needs_token(sub, marker) for sub in dependant.dependencies)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus `bearerAuth`, required by each operation whose dependencies
    include the signed-in account, and the answers common to all routes."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = BEARER
    for operations in schema["paths"].values():
        for operation in operations.values():
            _common_answers(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    marker = _signed_in()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not (isinstance(route, APIRoute) and route.include_in_schema):
            continue
        if not _needs_token(route.dependant, marker):
            continue
        operations = schema["paths"].get(context.path_format, {})
        for method in context.methods or ():
            if method.lower() in operations:
                operations[method.lower()]["security"] = [{"bearerAuth": []}]
    app.openapi_schema = schema
    return schema


def _common_answers(operation: dict[str, Any]) -> None:
    """Every route can be refused by the input guard (a control character in the path, query or
    headers: 422) and the rate limiter (429); one with a body also for a body that cannot be read
    (400) or is too large (413). A 422 is always in the panel's error format."""
    answers = operation.setdefault("responses", {})
    statuses = (400, 413, 422, 429) if "requestBody" in operation else (422, 429)
    for status, entry in responses(*statuses).items():
        described = {"description": entry["description"], "content": _error_content()}
        answers.setdefault(str(status), described)
    answers["422"]["content"] = _error_content()


def _error_content() -> dict[str, Any]:
    return {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}}
    }


async def _swagger(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
    nonce = getattr(request.state, "csp_nonce", "")
    body = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(body)


def install_api_docs(app: FastAPI) -> None:
    """For an app created with FastAPI's own docs pages off (`docs_url=None, redoc_url=None`)
    and `openapi_url=None` when the docs are turned off."""
    if app.openapi_url is None:
        return
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.add_route("/docs", _swagger, include_in_schema=False)
