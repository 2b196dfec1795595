"""The composition root's pieces that every process shares: the registry of operation handlers
(assembled here, from the domains that declare them) and what a process does after a commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.backups import operations as backup_operations
from skypanel.config import Settings
from skypanel.deployments import operations as deployment_operations
from skypanel.domains import operations as domain_operations
from skypanel.http.caching import PLATFORM, drop_organizations
from skypanel.http.principals import forget_users
from skypanel.kit import uow
from skypanel.kit.cache import Cache
from skypanel.kit.uow import AfterCommit
from skypanel.models import (
    ActivityLog,
    AutoRecharge,
    BillingCycle,
    BillingDocument,
    BillingProfile,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    Membership,
    Organization,
    PaymentTransaction,
    RefreshToken,
    TopUp,
    User,
    Wallet,
)
from skypanel.moves import operations as move_operations
from skypanel.notices.mail import Mailer
from skypanel.notices.webhook_delivery import deliver_due
from skypanel.operations.service import ClientSource, Handler, Runner
from skypanel.platform.service import get_setting
from skypanel.projects import operations as project_operations
from skypanel.services import operations as service_operations
from skypanel.services import templated
from skypanel.subscriptions import provisioning

log = structlog.get_logger(__name__)

HANDLERS: dict[str, Handler] = {
    **provisioning.HANDLERS,
    **project_operations.HANDLERS,
    **service_operations.HANDLERS,
    **templated.HANDLERS,
    **deployment_operations.HANDLERS,
    **domain_operations.HANDLERS,
    **backup_operations.HANDLERS,
    **move_operations.HANDLERS,
}

# What the cached reads (projects, usage), the cached pages (`skypanel.web.pagecache`) and the
# cached callers and sign-ins are made of.
for _shown in (
    ActivityLog,
    AutoRecharge,
    BillingCycle,
    BillingDocument,
    BillingProfile,
    ContainerProject,
    ContainerService,
    ContainerSubscription,
    PaymentTransaction,
    TopUp,
    Wallet,
):
    uow.watch(_shown, organization="organization_id")
uow.watch(Organization, organization="id")
uow.watch(User, user="id")
uow.watch(Membership, user="user_id")
uow.watch(RefreshToken, user="user_id")

Dispatch = Callable[[Sequence[uuid.UUID]], Awaitable[object]]


def runner_for(
    sessions: async_sessionmaker[AsyncSession], clients: ClientSource, settings: Settings
) -> Runner:
    """A process's operation runner, with every handler and the configured lease."""
    return Runner(
        sessions,
        clients,
        HANDLERS,
        lease=settings.operation_lease,
        heartbeat_seconds=settings.operation_lease_seconds / 4,
    )


def mailer_for(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Mailer:
    """A process's outbox sender, with the panel's branding for the layout."""

    async def branding(session: AsyncSession) -> dict[str, Any]:
        brand: dict[str, Any] = await get_setting(session, "branding")
        return brand

    return Mailer(sessions, settings, branding)


def webhooks_for(
    sessions: async_sessionmaker[AsyncSession], settings: Callable[[], Settings]
) -> Callable[[], Awaitable[int]]:
    """A process's webhook sender, with the settings in force when it runs."""

    async def send() -> int:
        return await deliver_due(sessions, settings())

    return send


def inline(runner: Runner) -> Dispatch:
    """Deliver in this process as soon as the work commits (workers, tests, the CLI)."""
    return runner.run_all


@dataclass(frozen=True, slots=True)
class ProcessEffects:
    """After a commit: drop stale cached reads and callers, then hand operations to delivery.
    A failed hand-over loses nothing: the workers' sweep delivers every due operation."""

    cache: Cache
    dispatch: Dispatch
    mailer: Callable[[], Awaitable[object]] | None = None
    """Sends the outbox (the worker's own delivery, or a job handed to the workers)."""
    webhooks: Callable[[], Awaitable[object]] | None = None
    """Sends due webhook deliveries (likewise)."""

    async def apply(self, done: AfterCommit) -> None:
        if done.organizations:
            await drop_organizations(self.cache, *done.organizations)
        if done.users:
            await forget_users(self.cache, *done.users)
        for namespace in done.namespaces:
            await self.cache.drop(namespace)
        if done.namespaces:
            await self.cache.bump(PLATFORM)
        for callback in done.callbacks:
            try:
                await callback()
            except Exception:
                log.exception("after_commit.callback_failed")
        if done.operations:
            try:
                await self.dispatch(done.operations)
            except Exception:
                log.exception("operations.dispatch_failed", count=len(done.operations))
        if done.mail and self.mailer is not None:
            try:
                await self.mailer()
            except Exception:
                log.exception("mail.dispatch_failed")
        if done.webhooks and self.webhooks is not None:
            try:
                await self.webhooks()
            except Exception:
                log.exception("webhooks.dispatch_failed")
