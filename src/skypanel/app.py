"""The application factory: one FastAPI app serving the JSON API (and later the pages)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel import health
from skypanel.accounts.endpoints import router as auth_router
from skypanel.activity.endpoints import router as activity_router
from skypanel.admin.endpoints import router as admin_router
from skypanel.backups.endpoints import admin_router as backups_admin_router
from skypanel.backups.endpoints import router as backups_router
from skypanel.config import Settings, get_settings
from skypanel.deployments.endpoints import hooks_router as deploy_hooks_router
from skypanel.deployments.endpoints import router as deployments_router
from skypanel.domains.endpoints import admin_router as service_domain_router
from skypanel.domains.endpoints import router as domains_router
from skypanel.hooks.endpoints import router as hooks_router
from skypanel.http.errors import install_error_handlers
from skypanel.http.fastpath import CachedReads
from skypanel.http.guards import InputGuardMiddleware
from skypanel.http.headers import SecurityHeadersMiddleware
from skypanel.http.middleware import RateLimitMiddleware, RequestContextMiddleware
from skypanel.http.query import known_query
from skypanel.http.ratelimit import RateLimiter
from skypanel.invoices.endpoints import router as invoices_router
from skypanel.kit import uow
from skypanel.kit.cache import Cache
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.kit.logging import configure_logging
from skypanel.monitoring.endpoints import router as monitoring_router
from skypanel.moves.endpoints import router as moves_router
from skypanel.notices.endpoints import router as notices_router
from skypanel.operations.endpoints import router as operations_router
from skypanel.organizations.endpoints import invitations_router
from skypanel.organizations.endpoints import router as organizations_router
from skypanel.payments.endpoints import router as payments_router
from skypanel.payments.gateways import Gateways
from skypanel.plans.endpoints import router as plans_router
from skypanel.platform.endpoints import router as settings_router
from skypanel.projects.endpoints import PROJECTS
from skypanel.projects.endpoints import router as projects_router
from skypanel.quotas.endpoints import USAGE
from skypanel.quotas.endpoints import router as quotas_router
from skypanel.servers.clients import ClientPool
from skypanel.servers.endpoints import fleet_router as server_fleet_router
from skypanel.servers.endpoints import router as servers_router
from skypanel.servers.service import bootstrap_from_env
from skypanel.services.endpoints import SERVICE
from skypanel.services.endpoints import router as services_router
from skypanel.subscriptions.endpoints import router as subscriptions_router
from skypanel.templates.endpoints import router as templates_router
from skypanel.wallet.endpoints import router as wallet_router
from skypanel.web import CachedPages, cached_paths, install_web
from skypanel.web.apidocs import OPENAPI_URL, install_api_docs
from skypanel.wiring import Dispatch, ProcessEffects, inline, mailer_for, runner_for, webhooks_for
from skypanel.worker.run import open_job_queue, run_worker
from skypanel.worker.tasks import defer_delivery, defer_mail, defer_webhooks

ROUTERS = (
    health.router,
    auth_router,
    organizations_router,
    invitations_router,
    wallet_router,
    activity_router,
    admin_router,
    settings_router,
    servers_router,
    server_fleet_router,
    moves_router,
    plans_router,
    subscriptions_router,
    projects_router,
    domains_router,
    service_domain_router,
    backups_router,
    backups_admin_router,
    deployments_router,
    deploy_hooks_router,
    services_router,
    quotas_router,
    monitoring_router,
    operations_router,
    templates_router,
    payments_router,
    invoices_router,
    notices_router,
    hooks_router,
)


def attach_database(
    app: FastAPI,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    dispatch: Dispatch | None = None,
    mail: Callable[[], Awaitable[object]] | None = None,
    webhooks: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Give the app its database and what is built on it: Easypanel clients, the operation
    runner, and what every commit does afterwards. Operations a request records go to
    `dispatch`, the emails it queued are sent by `mail` and its webhook deliveries by `webhooks`
    (the served app hands them to the workers; by default, as in tests, this process delivers
    them itself)."""
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.clients = ClientPool(sessions)
    app.state.runner = runner_for(sessions, app.state.clients, app.state.settings)
    settings = app.state.settings
    effects = ProcessEffects(
        app.state.cache,
        dispatch or inline(app.state.runner),
        mail or mailer_for(sessions, settings),
        webhooks or webhooks_for(sessions, lambda: app.state.settings),
    )
    uow.install(sessions, effects)


YOUNG_COLLECTION_AFTER = 20_000
"""Net allocations of tracked objects between two collections of the youngest generation in a
web process (700 by default on CPython 3.11). The older generations are collected as rarely in
proportion: a web process under load stays within its memory goal (bench/RESULTS.md)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.database_url is None:
        raise RuntimeError("SKYPANEL_DATABASE_URL is not set (`skypanel serve` starts one)")
    configure_logging(settings.log_level, settings.log_format)
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pgbouncer=settings.database_pgbouncer,
        )
        attach_database(
            app, engine, create_sessionmaker(engine), defer_delivery, defer_mail, defer_webhooks
        )
        await bootstrap_from_env(app.state.sessions, settings)
        async with open_job_queue(settings) as jobs:
            worker = (
                asyncio.create_task(run_worker(settings, jobs=jobs, cache=app.state.cache))
                if settings.worker_in_process
                else None
            )
            # What exists now lives as long as the process: keeping it out of the collector's
            # full passes removes their pauses from the tail latency (bench/RESULTS.md).
            gc.collect()
            gc.freeze()
            # A request's objects are freed by reference counting as it ends; collecting the
            # young generation every 700 allocations (CPython 3.11's default) mostly traverses
            # the objects of requests still in flight, and promotes them so the older passes
            # traverse them again (bench/RESULTS.md, session 12).
            thresholds = gc.get_threshold()
            gc.set_threshold(YOUNG_COLLECTION_AFTER)
            try:
                yield
            finally:
                gc.set_threshold(*thresholds)
                if worker is not None:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                await app.state.clients.aclose()
                await app.state.cache.aclose()
                await app.state.engine.dispose()

    app = FastAPI(
        title="SkyPanel",
        summary="Containers as a service on top of Easypanel",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL if settings.api_docs else None,
    )
    app.state.settings = settings
    app.state.cache = Cache(settings.redis_url)
    app.state.gateways = Gateways(settings)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(known_query)])
    install_web(app)
    install_api_docs(app)
    app.add_middleware(
        CachedReads,
        reads=(PROJECTS, USAGE),
        views=(SERVICE,),
        cache=app.state.cache,
        settings=settings,
        state=app.state,
    )
    app.add_middleware(CachedPages, paths=cached_paths(), cache=app.state.cache, settings=settings)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings))
    app.add_middleware(InputGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, production=settings.production)
    return app
