from __future__ import annotations

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


@router.get("/metrics", responses={200: {"content": {"text/plain": {}}}})
async def metrics() -> Response:
    """Prometheus metrics of this process (Easypanel call latency and errors). Keep this path
    private at the reverse proxy."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
