from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.domains.service import service_domain
from skypanel.platform.service import get_setting
from tests.conftest import _app
from tests.support import Account, statements


async def test_settings_have_defaults_and_validate_changes(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], admin: Account, alice: Account
) -> None:
    assert (await client.get("/api/admin/settings", headers=alice.headers)).status_code == 403
    listed = await client.get("/api/admin/settings", headers=admin.headers)
    values = {s["key"]: s["value"] for s in listed.json()}
    assert values["customer_easypanel_logins"] is False
    assert values["billing_grace_days"] == 3
    assert values["branding"] == {"name": "SkyPanel", "logoUrl": None, "accentColor": "#2563eb"}

    changed = await client.put(
        "/api/admin/settings/branding",
        headers=admin.headers,
        json={"value": {"name": "Nimbus Cloud", "accentColor": "#ff6600"}},
    )
    assert changed.status_code == 200
    assert changed.json()["value"] == {
        "name": "Nimbus Cloud",
        "logoUrl": None,
        "accentColor": "#ff6600",
    }

    bad = await client.put(
        "/api/admin/settings/branding",
        headers=admin.headers,
        json={"value": {"accentColor": "red"}},
    )
    assert bad.status_code == 422
    wrong_type = await client.put(
        "/api/admin/settings/billing_grace_days", headers=admin.headers, json={"value": "soon"}
    )
    assert wrong_type.status_code == 422
    unknown = await client.put(
        "/api/admin/settings/does_not_exist", headers=admin.headers, json={"value": 1}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "SETTING_NOT_FOUND"

    async with db() as session:
        assert (await get_setting(session, "branding"))["name"] == "Nimbus Cloud"
        assert await get_setting(session, "billing_grace_days") == 3


async def test_a_setting_without_a_value_is_cached_as_one_with_a_value(
    client: httpx.AsyncClient, engine: AsyncEngine, db: async_sessionmaker[AsyncSession]
) -> None:
    """No service domain set (None): the views that show addresses read it from the cache, not
    from the database on every request."""
    cache = _app(client).state.cache
    async with db() as session:
        assert await service_domain(session, cache) is None
        with statements(engine) as seen:
            assert await service_domain(session, cache) is None
    assert [s for s in seen if "platform_settings" in s] == []
