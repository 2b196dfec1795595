"""Helpers for the fleet tests: add servers through the API, subscribe organizations."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from tests.support import Account, credit, register

SERVERS = "/api/containers/admin/servers"
SUBSCRIBE = "/api/containers/subscription"


async def add_server(
    client: httpx.AsyncClient,
    admin: Account,
    emulator: RunningEmulator,
    name: str,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        SERVERS,
        headers=admin.headers,
        json={"name": name, "apiUrl": emulator.base_url, "apiKey": emulator.token, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def customer(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], cents: int = 10_000
) -> Account:
    account = await register(client)
    await credit(sessions, account.organization_id, cents)
    return account


async def subscribe(
    client: httpx.AsyncClient, account: Account, plan: uuid.UUID, region: str | None = None
) -> httpx.Response:
    body = {"planId": str(plan)} | ({"region": region} if region else {})
    return await client.post(SUBSCRIBE, headers=account.headers, json=body)


async def placed_on(
    sessions: async_sessionmaker[AsyncSession], account: Account
) -> uuid.UUID | None:
    """The server the organization's subscription was placed on."""
    async with sessions() as session:
        value = await session.scalar(
            text("SELECT server_id FROM container_subscriptions WHERE organization_id = :org"),
            {"org": account.organization_id},
        )
    return uuid.UUID(str(value)) if value else None
