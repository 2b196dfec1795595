"""Request plumbing: the unit of work and the settings. Who is calling lives with its domain:
`skypanel.accounts.auth` (the signed-in user) and `skypanel.organizations.auth` (the acting
organization)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.config import Settings
from skypanel.kit import uow
from skypanel.kit.errors import AppError


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, before the response,
    then what the work recorded for after the commit is applied (`skypanel.kit.uow`)."""
    async with request.app.state.sessions() as session:
        try:
            yield session
        except AppError as exc:
            if not exc.keeps_work:
                uow.discard(session)
                await session.rollback()
                raise
            await uow.commit(session)
            raise
        except BaseException:
            uow.discard(session)
            await session.rollback()
            raise
        await uow.commit(session)


Session = Annotated[AsyncSession, Depends(_session, scope="function")]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
