from __future__ import annotations

import base64
import html
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import get_settings
from skypanel.kit import clock
from skypanel.models import EasypanelServer
from skypanel.monitoring import service as monitoring
from skypanel.web import cookies
from tests.support import Account, make_plan, register, services_url, subscribed

OVERVIEW = "/api/containers/admin/overview"
SERVICES = "/api/containers/admin/services"
SUBSCRIPTIONS = "/api/containers/admin/subscriptions"

# The overview's figures counted straight from the tables, as the old overview did.
COUNTED = {
    "subscriptions": "SELECT status, count(*) FROM container_subscriptions GROUP BY status",
    "services": (
        "SELECT service_type, status, count(*) FROM container_services"
        " GROUP BY service_type, status ORDER BY service_type, status"
    ),
    "projects": "SELECT count(*) FROM container_projects",
    "mrr": (
        "SELECT coalesce(sum(p.price_monthly_cents), 0) FROM container_subscriptions s"
        " JOIN container_plans p ON p.id = s.plan_id WHERE s.status IN ('active', 'past_due')"
    ),
    "billing": (
        "SELECT count(*) FILTER (WHERE status IN ('billed', 'refunded')),"
        " count(*) FILTER (WHERE status IN ('failed', 'void'))"
        " FROM container_billing_cycles WHERE created_at >= :since"
    ),
}


async def _counted(db: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    since = (clock.now() - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    async with db() as session:
        subs = {s: n for s, n in await session.execute(text(COUNTED["subscriptions"]))}
        services = [
            {"type": kind, "status": status, "count": n}
            for kind, status, n in await session.execute(text(COUNTED["services"]))
        ]
        billed, failed = (await session.execute(text(COUNTED["billing"]), {"since": since})).one()
        return {
            "subscriptions": subs,
            "services": services,
            "projects": await session.scalar(text(COUNTED["projects"])),
            "monthlyRecurringRevenue": f"{await session.scalar(text(COUNTED['mrr'])) / 100:.2f}",
            "billingSuccessRate": (
                round(billed / (billed + failed) * 100, 1) if billed + failed else None
            ),
        }


async def _overview(client: httpx.AsyncClient, admin: Account) -> dict[str, Any]:
    response = await client.get(OVERVIEW, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    keys = ("subscriptions", "services", "projects", "monthlyRecurringRevenue")
    return {key: body[key] for key in (*keys, "billingSuccessRate")}


async def _changes(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int(await session.scalar(text("SELECT count(*) FROM platform_count_changes")))


async def _slug(db: async_sessionmaker[AsyncSession], account: Account) -> str:
    async with db() as session:
        return str(
            await session.scalar(
                text("SELECT slug FROM organizations WHERE id = :id"),
                {"id": account.organization_id},
            )
        )


async def test_admin_overview_and_lists(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice, price_cents=1500)
    await subscribed(client, db, bob, price_cents=2500)
    deployed = await client.post(
        f"{await services_url(client, alice)}/database",
        headers=alice.headers,
        json={"serviceName": "db", "type": "redis"},
    )
    assert deployed.status_code == 202, deployed.text
    overview = await client.get(OVERVIEW, headers=admin.headers)
    assert overview.status_code == 200
    body = overview.json()
    assert body["subscriptions"] == {"active": 2}
    assert body["projects"] == 2
    assert body["services"] == [{"type": "redis", "status": "running", "count": 1}]
    assert body["monthlyRecurringRevenue"] == "40.00"
    assert body["billingSuccessRate"] == 100.0
    assert body["easypanel"]["reachable"] is True

    subs = await client.get(f"{SUBSCRIPTIONS}?status=active", headers=admin.headers)
    assert len(subs.json()["items"]) == 2
    assert subs.json()["nextCursor"] is None
    services = await client.get(f"{SERVICES}?type=redis", headers=admin.headers)
    assert [(s["serviceName"], s["organizationName"]) for s in services.json()["items"]] == [
        ("db", "Test User's organization")
    ]
    none = await client.get(f"{SERVICES}?type=app", headers=admin.headers)
    assert none.json() == {"items": [], "nextCursor": None}
    assert (await client.get(OVERVIEW, headers=alice.headers)).status_code == 403


async def test_overview_follows_every_change_exactly(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    bob: Account,
) -> None:
    """Subscriptions, plan changes, services, stops, deletions and a cancellation, each through
    the real services: the overview (counts kept by triggers) always equals a count of the
    tables, before and after the pending changes are folded."""

    async def check() -> None:
        assert await _overview(client, admin) == await _counted(db)

    await check()
    await subscribed(client, db, alice, price_cents=1500)
    await subscribed(client, db, bob, price_cents=2500)
    await check()
    bigger = await make_plan(db, price_cents=4000, name="Bigger")
    changed = await client.put(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(bigger)}
    )
    assert changed.status_code == 200, changed.text
    await check()
    url = await services_url(client, alice)
    for name, kind in (("cache", "redis"), ("main", "postgres")):
        deployed = await client.post(
            f"{url}/database", headers=alice.headers, json={"serviceName": name, "type": kind}
        )
        assert deployed.status_code == 202, deployed.text
    await check()
    assert (await client.post(f"{url}/cache/stop", headers=alice.headers)).status_code == 202
    await check()
    assert (await client.delete(f"{url}/main", headers=alice.headers)).status_code == 202
    await check()
    assert await monitoring.fold_counts(db) > 0
    assert await _changes(db) == 0
    await check()
    cancelled = await client.delete(
        f"/api/containers/subscription?confirm={await _slug(db, bob)}", headers=bob.headers
    )
    assert cancelled.status_code == 202, cancelled.text
    await check()
    body = await _overview(client, admin)
    assert body["subscriptions"] == {"active": 1, "cancelled": 1}
    assert body["monthlyRecurringRevenue"] == "40.00"


async def test_service_list_pages_by_cursor_with_filters_and_search(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice, containers=10)
    await subscribed(client, db, bob)
    url = await services_url(client, alice)
    names = ["web-1", "web-2", "api", "Webhook", "cache"]
    for name in names:
        kind = "postgres" if name == "api" else "redis"
        deployed = await client.post(
            f"{url}/database",
            headers=alice.headers,
            json={"serviceName": name.lower(), "type": kind},
        )
        assert deployed.status_code == 202, deployed.text
    deployed = await client.post(
        f"{await services_url(client, bob)}/database",
        headers=bob.headers,
        json={"serviceName": "web-bob", "type": "redis"},
    )
    assert deployed.status_code == 202, deployed.text
    async with db() as session:
        newest = "SELECT service_name FROM container_services ORDER BY created_at DESC, id DESC"
        expected = (await session.execute(text(newest))).scalars().all()

    seen: list[str] = []
    cursor = ""
    while True:
        page = await client.get(f"{SERVICES}?limit=2{cursor}", headers=admin.headers)
        assert page.status_code == 200, page.text
        seen += [item["serviceName"] for item in page.json()["items"]]
        if page.json()["nextCursor"] is None:
            break
        cursor = f"&cursor={page.json()['nextCursor']}"
    assert seen == list(expected)

    async def names_of(query: str) -> list[str]:
        response = await client.get(f"{SERVICES}?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        return sorted(item["serviceName"] for item in response.json()["items"])

    assert await names_of("search=WEB") == ["web-1", "web-2", "web-bob", "webhook"]
    matched: list[str] = []
    cursor = ""
    while True:
        page = await client.get(f"{SERVICES}?search=web&limit=1{cursor}", headers=admin.headers)
        matched += [item["serviceName"] for item in page.json()["items"]]
        if page.json()["nextCursor"] is None:
            break
        cursor = f"&cursor={page.json()['nextCursor']}"
    assert matched == ["web-1", "web-2", "web-bob", "webhook"]
    assert await names_of("search=web-") == ["web-1", "web-2", "web-bob"]
    assert await names_of("search=eb") == []
    assert await names_of("type=postgres") == ["api"]
    assert await names_of(f"organization={alice.organization_id}&search=web") == [
        "web-1", "web-2", "webhook"
    ]  # fmt: skip
    assert await names_of(f"organization={await _slug(db, bob)}") == ["web-bob"]
    assert await names_of(f"serverId={server.id}&status=running&type=postgres") == ["api"]
    assert await names_of("organization=nobody-here") == []


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=not-a-cursor", "cursor"),
        (f"cursor={_cursor(['2026-01-01T00:00:00+00:00', 5])}", "cursor"),
        (f"cursor={_cursor(['2026-01-01T00:00:00', str(uuid.UUID(int=1))])}", "cursor"),
        (f"cursor={_cursor({'a': 1})}", "cursor"),
        ("type=spaceship", "query.type"),
        ("status=RUNNING!", "query.status"),
        ("organization=Acme Inc", "query.organization"),
        ("serverId=nope", "query.serverId"),
        ("limit=0", "query.limit"),
    ],
)  # fmt: skip
async def test_bad_cursor_or_filter_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: Account, query: str, field: str
) -> None:
    response = await client.get(f"{SERVICES}?{query}", headers=admin.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = [f["field"] for f in error["details"].get("fields", [])]
    assert error["details"].get("field") == field or fields == [field]


async def test_subscription_list_pages_and_searches_organizations(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
) -> None:
    accounts = [await register(client, f"sub-{n}@example.com") for n in range(5)]
    for account in accounts:
        await subscribed(client, db, account)
    first = await client.get(f"{SUBSCRIPTIONS}?limit=3", headers=admin.headers)
    rest = await client.get(
        f"{SUBSCRIPTIONS}?limit=3&cursor={first.json()['nextCursor']}", headers=admin.headers
    )
    ids = [s["id"] for s in first.json()["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert rest.json()["nextCursor"] is None
    found = await client.get(
        f"{SUBSCRIPTIONS}?search=test%20u&status=active", headers=admin.headers
    )
    assert len(found.json()["items"]) == 5
    assert (await client.get(f"{SUBSCRIPTIONS}?search=user", headers=admin.headers)).json()[
        "items"
    ] == []
    bad = await client.get(f"{SUBSCRIPTIONS}?status=gone", headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "query.status"


async def test_monitoring_pages_filter_search_and_page_by_cursor(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    admin: Account,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, containers=30, cpu="8", memory_gb="32", storage_gb=100)
    url = await services_url(client, alice)
    for n in range(21):
        deployed = await client.post(
            f"{url}/database", headers=alice.headers, json={"serviceName": f"c{n}", "type": "redis"}
        )
        assert deployed.status_code == 202, deployed.text
    await _browser(client, admin)
    overview = await client.get("/admin/monitoring")
    assert overview.status_code == 200
    assert 'data-testid="projects">1<' in overview.text
    first = await client.get("/admin/monitoring/services?type=redis")
    assert first.status_code == 200
    assert first.text.count("data-service=") == 20
    [older] = re.findall(r'rel="next" href="\?([^"]+)"', first.text)
    second = await client.get(f"/admin/monitoring/services?{html.unescape(older)}")
    assert second.text.count("data-service=") == 1
    found = await client.get("/admin/monitoring/services?search=C2")
    assert sorted(re.findall(r'data-service="([^"]+)"', found.text)) == ["c2", "c20"]
    subscriptions = await client.get("/admin/monitoring/subscriptions?status=active&search=test")
    assert subscriptions.status_code == 200
    assert "Test User&#39;s organization" in subscriptions.text
    assert (await client.get("/admin/monitoring/services?type=spaceship")).status_code == 422


async def _browser(client: httpx.AsyncClient, account: Account) -> None:
    client.cookies.clear()
    await client.get("/login")
    token = cookies.csrf_token(get_settings(), client.cookies[cookies.CSRF], None)
    signed_in = await client.post(
        "/login",
        data={"email": account.email, "password": account.password, cookies.CSRF_FIELD: token},
    )
    assert signed_in.status_code == 303, signed_in.text


SEED = [
    "INSERT INTO easypanel_config (id, api_url, api_key_encrypted, api_key_last4)"
    " VALUES (:server, 'http://127.0.0.1:1', '-', '0000')",
    "INSERT INTO organizations (id, name, slug) VALUES (:org, 'Counted', 'counted')",
    "INSERT INTO container_plans (id, name, price_monthly_cents, max_cpu_cores, max_memory_gb,"
    " max_storage_gb, max_containers) VALUES (:plan, 'Counted', 900, 4, 4, 10, 10)",
    "INSERT INTO container_subscriptions (id, organization_id, plan_id, server_id, anchor_at,"
    " current_period_start, current_period_end)"
    " VALUES (:subscription, :org, :plan, :server, now(), now(), now() + interval '1 month')",
    "INSERT INTO container_projects (id, organization_id, subscription_id, server_id,"
    " project_name, easypanel_project_name) VALUES (:project, :org, :subscription, :server,"
    " 'p', 'counted-p')",
    "INSERT INTO container_services (id, project_id, organization_id, service_name,"
    " easypanel_service_name, service_type, status, cpu_limit, memory_limit_gb,"
    " storage_limit_gb) SELECT gen_random_uuid(), :project, :org, 's' || n, 's' || n,"
    " 'redis', 'running', 1, 1, 1 FROM generate_series(1, 2) AS n",
]


async def test_concurrent_writers_never_wait_on_the_counts(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """Two transactions change services at the same time: neither waits for the other (the
    counts are insert-only changes, not a shared row), and both changes are counted."""
    ids = {name: uuid.uuid4() for name in ("server", "org", "plan", "subscription", "project")}
    async with committed() as session:
        for statement in SEED:
            await session.execute(text(statement), ids)
        await session.commit()
    stop = "UPDATE container_services SET status = 'stopped' WHERE service_name = :name"
    async with committed() as first, committed() as second:
        await first.execute(text(stop), {"name": "s1"})
        await second.execute(text("SET LOCAL lock_timeout = '1s'"))
        await second.execute(text(stop), {"name": "s2"})
        await second.execute(text(SEED[-1].replace("'s' || n", "'t' || n")), ids)
        await second.commit()
        await first.commit()
    async with committed() as session:
        counts = await monitoring.figures(session)
    assert counts["services"] == [
        {"type": "redis", "status": "running", "count": 2},
        {"type": "redis", "status": "stopped", "count": 2},
    ]
    assert counts["subscriptions"] == {"active": 1}
    assert counts["projects"] == 1
    assert counts["monthlyRecurringRevenueCents"] == 900
    assert await monitoring.fold_counts(committed) > 0
    async with committed() as session:
        assert await monitoring.figures(session) == counts
        await session.execute(text("TRUNCATE container_services CASCADE"))
        assert (await monitoring.figures(session))["services"] == []


async def test_folding_forgets_billing_hours_no_overview_reads(
    db: async_sessionmaker[AsyncSession],
) -> None:
    ids = {name: uuid.uuid4() for name in ("server", "org", "plan", "subscription", "project")}
    cycle = (
        "INSERT INTO container_billing_cycles (id, subscription_id, organization_id, plan_id,"
        " billing_period_start, billing_period_end, monthly_rate_cents, amount_cents, status,"
        " created_at, updated_at) VALUES (gen_random_uuid(), :subscription, :org, :plan,"
        " :at, CAST(:at AS timestamptz) + interval '1 month', 900, 900, :status, :at, :at)"
    )
    async with db() as session:
        for statement in SEED[:4]:
            await session.execute(text(statement), ids)
        for days, status in ((40, "failed"), (1, "billed")):
            at = clock.now() - timedelta(days=days)
            await session.execute(text(cycle), {**ids, "at": at, "status": status})
        await session.commit()
        assert (await monitoring.figures(session))["billingSuccessRate"] == 100.0
    await monitoring.fold_counts(db)
    async with db() as session:
        hours = await session.execute(
            text("SELECT status FROM platform_counts WHERE metric = 'billing_cycles'")
        )
        assert hours.scalars().all() == ["billed"]
        assert (await monitoring.figures(session))["billingSuccessRate"] == 100.0
