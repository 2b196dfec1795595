"""A host belongs to at most one service on the whole platform; the platform's own are refused."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ContainerService, EasypanelServer, ServiceDomain
from skypanel.services import claims
from tests.support import Account, count, services_url, subscribed


def _app(name: str, *hosts: str) -> dict[str, object]:
    return {
        "serviceName": name,
        "source": {"type": "image", "image": "nginx:1.27"},
        "domains": [{"host": host} for host in hosts],
    }


async def test_a_host_served_by_another_tenant_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    mine = await client.post(
        f"{await services_url(client, alice)}/app",
        headers=alice.headers,
        json=_app("web", "shop.example.com"),
    )
    assert mine.status_code == 202, mine.text
    theirs = await client.post(
        f"{await services_url(client, bob)}/app",
        headers=bob.headers,
        json=_app("web", "shop.example.com"),
    )
    assert theirs.status_code == 409, theirs.text
    error = theirs.json()["error"]
    assert error["code"] == "DOMAIN_TAKEN"
    assert (error["details"]["host"], error["details"]["field"]) == ("shop.example.com", "domains")
    assert await count(db, "container_services", organization_id=bob.organization_id) == 0
    assert await count(db, "service_domains") == 1


async def test_a_wildcard_claim_covers_the_hosts_under_it(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    mine = await client.post(
        f"{await services_url(client, alice)}/app",
        headers=alice.headers,
        json=_app("web", "example.org"),
    )
    assert mine.status_code == 202, mine.text
    async with db() as session:
        service_id = await session.scalar(
            select(ContainerService.id).where(
                ContainerService.organization_id == alice.organization_id
            )
        )
        assert service_id is not None
        session.add(ServiceDomain(service_id=service_id, host="*.example.org"))
        await session.commit()
    theirs = await client.post(
        f"{await services_url(client, bob)}/app",
        headers=bob.headers,
        json=_app("api", "a.b.example.org"),
    )
    assert theirs.status_code == 409, theirs.text
    assert theirs.json()["error"]["details"]["host"] == "a.b.example.org"
    assert await count(db, "container_services", organization_id=bob.organization_id) == 0


def test_hosts_are_normalised_and_wildcards_overlap_both_ways() -> None:
    assert claims.normalise_host("Shop.Example.COM.") == "shop.example.com"
    assert claims.normalise_host("bücher.example") == "xn--bcher-kva.example"
    assert claims.normalise_host("example.com", wildcard=True) == "*.example.com"
    assert claims.overlaps("*.example.com", "a.example.com")
    assert claims.overlaps("a.example.com", "*.example.com")
    assert claims.overlaps("*.example.com", "*.a.example.com")
    assert not claims.overlaps("*.example.com", "example.com")
    assert not claims.overlaps("a.example.com", "b.example.com")


async def test_reserved_suffixes_and_the_panels_own_host_are_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await subscribed(client, db, alice)
    changed = await client.put(
        "/api/admin/settings/reserved_domain_suffixes",
        headers=admin.headers,
        json={"value": ["Hosting.Example"]},
    )
    assert changed.status_code == 200, changed.text
    services = await services_url(client, alice)
    refused = await client.post(
        f"{services}/app", headers=alice.headers, json=_app("web", "shop.hosting.example")
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "DOMAIN_RESERVED"
    assert refused.json()["error"]["details"]["host"] == "shop.hosting.example"

    monkeypatch.setattr(
        claims, "get_settings", lambda: SimpleNamespace(public_url="https://panel.example.net/")
    )
    panel = await client.post(
        f"{services}/app", headers=alice.headers, json=_app("web", "panel.example.net")
    )
    assert panel.status_code == 422, panel.text
    assert panel.json()["error"]["code"] == "DOMAIN_RESERVED"
    async with db() as session:
        with pytest.raises(claims.DomainReserved):
            await claims.check_domains(session, ["*.example.net"])
        server_host = httpx.URL(server.api_url).host
        with pytest.raises(claims.DomainReserved):
            await claims.check_domains(session, [server_host])
    assert await count(db, "container_services", organization_id=alice.organization_id) == 0


async def test_the_database_backs_the_rule_and_claims_go_with_their_service(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    created = await client.post(
        f"{await services_url(client, alice)}/app",
        headers=alice.headers,
        json=_app("web", "blog.example.com"),
    )
    assert created.status_code == 202, created.text
    service_id = uuid.UUID(created.json()["id"])
    async with db() as session:
        session.add(ServiceDomain(service_id=service_id, host="blog.example.com"))
        with pytest.raises(claims.DomainTaken):
            await claims.flush_claims(session)
    async with db() as session:
        await session.execute(delete(ContainerService).where(ContainerService.id == service_id))
        await session.commit()
    assert await count(db, "service_domains") == 0
