"""The unit of work: one per request, page and job.

Services record, on the session they work in, what has to happen once their changes are
committed: Easypanel operations to deliver, organizations whose cached reads are stale, users
whose cached sign-in is stale. The unit commits, then hands that record to the `Effects` of the
process (the web app's or the worker's), which applies it. A rollback drops the record with the
transaction, so nothing is delivered or forgotten for work that did not happen.

A savepoint that rolls back keeps what it recorded; every effect is harmless when its cause is
gone (an operation that was never committed is not found and not delivered; dropping a cache
entry only costs a recomputation).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

_PENDING = "skypanel.after_commit"
_EFFECTS = "skypanel.effects"


Callback = Callable[[], Awaitable[object]]


@dataclass
class AfterCommit:
    operations: list[uuid.UUID] = field(default_factory=list)
    organizations: set[uuid.UUID] = field(default_factory=set)
    users: set[uuid.UUID] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)
    callbacks: list[Callback] = field(default_factory=list)
    mail: bool = False
    webhooks: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.operations
            or self.organizations
            or self.users
            or self.namespaces
            or self.callbacks
            or self.mail
            or self.webhooks
        )


class Effects(Protocol):
    """What a process does after a commit (see `skypanel.effects`)."""

    async def apply(self, done: AfterCommit) -> None: ...


def install(sessions: async_sessionmaker[AsyncSession], effects: Effects) -> None:
    """Every session of `sessions` applies `effects` after its unit of work commits."""
    info = dict(sessions.kw.get("info") or {})
    info[_EFFECTS] = effects
    sessions.configure(info=info)


_WATCHED: dict[type[Any], tuple[str | None, str | None]] = {}


def watch(model: type[Any], *, organization: str | None = None, user: str | None = None) -> None:
    """Any change to a row of `model` made through the ORM, whoever makes it, marks its
    organization's cached reads (the `organization` attribute) or its user's cached sign-in
    (the `user` attribute) stale. Bulk statements bypass this; they mark what they change."""
    _WATCHED[model] = (organization, user)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _: UOWTransaction) -> None:
    for changed in chain(session.new, session.dirty, session.deleted):
        watched = _WATCHED.get(type(changed))
        if watched is None:
            continue
        organization, user = watched
        pending = _pending(session)
        if organization is not None and (value := getattr(changed, organization)) is not None:
            pending.organizations.add(value)
        if user is not None and (value := getattr(changed, user)) is not None:
            pending.users.add(value)


def _pending(session: AsyncSession | Session) -> AfterCommit:
    pending: AfterCommit = session.info.setdefault(_PENDING, AfterCommit())
    return pending


def deliver(session: AsyncSession, operation_id: uuid.UUID) -> None:
    """Deliver this operation once the transaction commits."""
    _pending(session).operations.append(operation_id)


def stale_organization(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """The organization's cached reads are out of date once the transaction commits."""
    _pending(session).organizations.add(organization_id)


def stale_users(session: AsyncSession, *user_ids: uuid.UUID) -> None:
    """What is cached about these callers (account, memberships) is out of date."""
    _pending(session).users.update(user_ids)


def stale_cache(session: AsyncSession, namespace: str) -> None:
    """Platform-wide cached entries under `namespace` (settings, templates) are out of date."""
    _pending(session).namespaces.add(namespace)


def send_mail(session: AsyncSession) -> None:
    """The transaction put emails in the outbox: have them sent once it commits."""
    _pending(session).mail = True


def send_webhooks(session: AsyncSession) -> None:
    """The transaction queued webhook deliveries: have them sent once it commits."""
    _pending(session).webhooks = True


def after_commit(session: AsyncSession, callback: Callback) -> None:
    """Run `callback` once the transaction commits (work that needs the change committed and
    may be lost in a crash: something else must sweep it up)."""
    _pending(session).callbacks.append(callback)


def discard(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


async def release(session: AsyncSession) -> None:
    """End a read's transaction before it waits on the network, so nothing stays open (what the
    read changes afterwards commits with the request)."""
    await commit(session)


async def commit(session: AsyncSession) -> None:
    """Commit, then apply what the work recorded."""
    await session.commit()
    done: AfterCommit | None = session.info.pop(_PENDING, None)
    effects: Effects | None = session.info.get(_EFFECTS)
    if done and effects is not None:
        await effects.apply(done)
