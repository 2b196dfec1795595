"""Customer Easypanel logins are off unless an admin turns them on."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, subscribed


async def test_no_customer_gets_an_easypanel_login_by_default(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    admin: Account,
    alice: Account,
) -> None:
    listed = await client.get("/api/admin/settings", headers=admin.headers)
    setting = next(s for s in listed.json() if s["key"] == "customer_easypanel_logins")
    assert setting["value"] is False
    await subscribed(client, db, alice)
    state = easypanel.controller.snapshot()
    assert [u for u in state["users"].values() if not u.get("admin")] == []
    login = await client.get("/api/containers/subscription/easypanel-login", headers=alice.headers)
    assert login.status_code != 200
