"""Published host ports come from the admin's range and belong to one service per server."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ContainerService, EasypanelServer
from tests.support import Account, count, services_url, subscribed


def _app(name: str, published: int, protocol: str = "tcp") -> dict[str, object]:
    return {
        "serviceName": name,
        "source": {"type": "image", "image": "nginx:1.27"},
        "ports": [{"published": published, "target": 80, "protocol": protocol}],
    }


async def test_a_port_outside_the_range_is_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    refused = await client.post(
        f"{await services_url(client, alice)}/app", headers=alice.headers, json=_app("web", 3000)
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "PORT_NOT_ALLOWED"
    assert error["details"]["range"] == {"start": 30000, "end": 32767}
    assert error["message"] == "Published ports must be between 30000 and 32767"
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0


async def test_a_port_another_tenant_publishes_is_refused_and_freed_with_its_service(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    mine = await client.post(
        f"{await services_url(client, alice)}/app", headers=alice.headers, json=_app("web", 30080)
    )
    assert mine.status_code == 202, mine.text
    bobs = await services_url(client, bob)
    taken = await client.post(f"{bobs}/app", headers=bob.headers, json=_app("web", 30080))
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["code"] == "PORT_TAKEN"
    assert taken.json()["error"]["details"]["port"] == 30080
    assert await count(db, "container_services", organization_id=bob.organization_id) == 0
    udp = await client.post(f"{bobs}/app", headers=bob.headers, json=_app("dns", 30080, "udp"))
    assert udp.status_code == 202, udp.text
    assert await count(db, "service_ports", port=30080) == 2
    async with db() as session:
        await session.execute(
            delete(ContainerService).where(ContainerService.id == uuid.UUID(mine.json()["id"]))
        )
        await session.commit()
    again = await client.post(f"{bobs}/app", headers=bob.headers, json=_app("web", 30080))
    assert again.status_code == 202, again.text
