from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from skypanel.kit.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: database or migrations"}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the latest migration."""
    engine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await current_revision(engine)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
            status_code=503,
        )
    head = head_revision()
    ready = current == head
    return JSONResponse(
        {
            "status": "ok" if ready else "migrations_pending",
            "database": "ok",
            "revision": current,
            "head": head,
        },
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    responses={
        200: {"content": {"text/plain": {}}},
        401: {"description": "Missing or wrong bearer token"},
        404: {"description": "Production without SKYPANEL_METRICS_TOKEN"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process (Easypanel call latency and errors). With
    `SKYPANEL_METRICS_TOKEN` set, only for `Authorization: Bearer <token>`; in production
    without a token, not served at all."""
    settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None and settings.production:
        return _error(404, "NOT_FOUND", "Not found")
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            refused = _error(401, "UNAUTHORIZED", "A bearer token is needed for /metrics")
            refused.headers["WWW-Authenticate"] = "Bearer"
            return refused
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _error(status: int, code: str, message: str) -> JSONResponse:
    """The API's error envelope (`skypanel.http.errors`, a module of this same layer)."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": {}}}, status_code=status
    )
