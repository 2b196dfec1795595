"""The application factory: one FastAPI app serving the JSON API (and later the pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from skypanel import health
from skypanel.accounts.endpoints import router as auth_router
from skypanel.activity.endpoints import router as activity_router
from skypanel.admin.endpoints import router as admin_router
from skypanel.config import Settings, get_settings
from skypanel.http.errors import install_error_handlers
from skypanel.http.middleware import RateLimitMiddleware, RequestContextMiddleware
from skypanel.http.ratelimit import RateLimiter
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.logging import configure_logging
from skypanel.organizations.endpoints import router as organizations_router
from skypanel.platform.endpoints import router as settings_router
from skypanel.wallet.endpoints import router as wallet_router

ROUTERS = (
    health.router,
    auth_router,
    organizations_router,
    wallet_router,
    activity_router,
    admin_router,
    settings_router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.database_url is None:
        raise RuntimeError("SKYPANEL_DATABASE_URL is not set (`skypanel serve` starts one)")
    configure_logging(settings.log_level, settings.log_format)
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(
            database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        app.state.sessions = create_sessionmaker(app.state.engine)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    app = FastAPI(
        title="SkyPanel",
        summary="Containers as a service on top of Easypanel",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings))
    app.add_middleware(RequestContextMiddleware)
    return app
