"""Default addresses, custom domains proven by DNS and attached with HTTPS, over HTTP against
the emulator and a local authoritative DNS server."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.config import get_settings
from skypanel.domains.tasks import recheck_pending
from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.models import EasypanelServer
from skypanel.web import cookies
from tests.dns import DnsServer
from tests.support import Account, clock_at, count, subscribed
from tests.test_tenancy import _signed_in_browser

NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}
HOST = "shop.customer.test"
CHALLENGE = f"_skypanel-challenge.{HOST}"


async def _app(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], who: Account
) -> tuple[str, str]:
    """Deploy nginx as `web`; returns the services URL and the project's name on Easypanel."""
    await subscribed(client, db, who)
    [project] = (await client.get("/api/containers/projects", headers=who.headers)).json()
    services = f"/api/containers/projects/{project['projectName']}/services"
    created = await client.post(f"{services}/app", headers=who.headers, json=NGINX)
    assert created.status_code == 202, created.text
    return services, project["easypanelProjectName"]


def _hosts(easypanel: RunningEmulator, project: str) -> list[tuple[str, bool, str]]:
    app = easypanel.controller.service(project, "web")
    assert app is not None
    return [(d["host"], d["https"], d["certificateResolver"]) for d in app["domains"]]


async def test_apps_get_a_default_address_on_the_service_domain(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    admin: Account,
    alice: Account,
) -> None:
    saved = await client.put(
        "/api/admin/service-domain", headers=admin.headers, json={"domain": "*.Apps.Example.com"}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["domain"] == "apps.example.com"
    assert [o["kind"] for o in saved.json()["operations"]] == ["easypanel.settings.service_domain"]
    assert easypanel.controller.snapshot()["service_domain"] == "apps.example.com"
    refused = await client.put(
        "/api/admin/service-domain", headers=alice.headers, json={"domain": "evil.example.com"}
    )
    assert refused.status_code == 403
    generic = await client.put(
        "/api/admin/settings/service_domain",
        headers=admin.headers,
        json={"value": "run.example.com"},
    )
    assert generic.status_code == 200, generic.text
    # The platform settings route pushes it too: no address the servers never heard of.
    assert easypanel.controller.snapshot()["service_domain"] == "run.example.com"
    await client.put(
        "/api/admin/service-domain", headers=admin.headers, json={"domain": "apps.example.com"}
    )

    services, project = await _app(client, db, alice)

    got = await client.get(f"{services}/web", headers=alice.headers)
    assert got.status_code == 200, got.text
    shown = got.json()
    assert shown["address"] == f"https://{project}-web.apps.example.com"
    listed = (await client.get(services, headers=alice.headers)).json()
    assert [s["address"] for s in listed] == [shown["address"]]
    under = await client.post(
        f"{services}/web/domains",
        headers=alice.headers,
        json={"host": "other-web.apps.example.com"},
    )
    assert under.status_code == 422, under.text
    assert under.json()["error"]["code"] == "DOMAIN_RESERVED"
    assert under.json()["error"]["details"]["field"] == "host"


async def test_a_custom_domain_is_refused_until_its_txt_record_resolves_then_served_over_https(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    dns: DnsServer,
) -> None:
    services, project = await _app(client, db, alice)
    created = await client.post(
        f"{services}/web/domains", headers=alice.headers, json={"host": HOST}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["host"], body["status"], body["https"]) == (HOST, "pending_verification", True)
    record = body["verification"]
    assert (record["type"], record["name"]) == ("TXT", CHALLENGE)
    assert len(record["value"]) >= 24
    assert {"type": "A", "name": HOST, "value": "127.0.0.1"} in body["targets"]
    domain = f"{services}/web/domains/{body['id']}"

    missing = await client.post(f"{domain}/verify", headers=alice.headers)
    assert missing.status_code == 409, missing.text
    assert missing.json()["error"]["code"] == "DOMAIN_NOT_VERIFIED"
    assert missing.json()["error"]["message"] == f"No TXT record found at {CHALLENGE}"
    dns.records[(CHALLENGE, "TXT")] = ["someone-else"]
    wrong = await client.post(f"{domain}/verify", headers=alice.headers)
    assert wrong.json()["error"]["code"] == "DOMAIN_NOT_VERIFIED"
    assert "does not hold the expected value" in wrong.json()["error"]["message"]
    assert _hosts(easypanel, project) == []
    [pending] = (await client.get(f"{services}/web/domains", headers=alice.headers)).json()
    assert pending["status"] == "pending_verification"
    assert pending["verification"] == record
    assert pending["checkedAt"] is not None
    assert "does not hold" in pending["lastError"]

    dns.records[(CHALLENGE, "TXT")] = [record["value"]]
    verified = await client.post(f"{domain}/verify", headers=alice.headers)

    assert verified.status_code == 200, verified.text
    assert verified.json()["operation"]["kind"] == "easypanel.domain.attach"
    assert _hosts(easypanel, project) == [(HOST, True, "letsencrypt")]
    [attached] = (await client.get(f"{services}/web/domains", headers=alice.headers)).json()
    assert (attached["status"], attached["certificate"]) == ("attached", "pending")
    assert attached["verification"] is None
    easypanel.controller.advance(10)
    [issued] = (await client.get(f"{services}/web/domains", headers=alice.headers)).json()
    assert (issued["status"], issued["certificate"], issued["url"]) == (
        "attached",
        "issued",
        f"https://{HOST}",
    )

    primary = await client.post(f"{domain}/primary", headers=alice.headers)
    assert primary.status_code == 202, primary.text
    app = easypanel.controller.service(project, "web")
    assert app is not None
    assert app["primaryDomainId"] == app["domains"][0]["id"]

    removed = await client.delete(domain, headers=alice.headers)
    assert removed.status_code == 202, removed.text
    assert _hosts(easypanel, project) == []
    assert easypanel.controller.snapshot()["certificates"] == {}
    assert await count(db, "service_domains", host=HOST) == 0


async def test_a_host_belongs_to_one_service_on_the_whole_platform(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    services, _ = await _app(client, db, alice)
    theirs, _ = await _app(client, db, bob)
    taken = await client.post(f"{services}/web/domains", headers=alice.headers, json={"host": HOST})
    assert taken.status_code == 201

    again = await client.post(f"{theirs}/web/domains", headers=bob.headers, json={"host": HOST})

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "DOMAIN_TAKEN"
    assert again.json()["error"]["details"]["field"] == "host"
    assert await count(db, "service_domains", host=HOST) == 1
    other = await client.get(
        f"{services}/web/domains/{taken.json()['id']}/verify", headers=bob.headers
    )
    assert other.status_code == 405
    stolen = await client.post(
        f"{theirs}/web/domains/{taken.json()['id']}/verify", headers=bob.headers
    )
    assert stolen.status_code == 404
    assert stolen.json()["error"]["code"] == "DOMAIN_NOT_FOUND"


async def test_the_worker_verifies_pending_domains_and_gives_up_after_a_week(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    dns: DnsServer,
) -> None:
    services, project = await _app(client, db, alice)
    first = (
        await client.post(f"{services}/web/domains", headers=alice.headers, json={"host": HOST})
    ).json()
    late = (
        await client.post(
            f"{services}/web/domains", headers=alice.headers, json={"host": "late.customer.test"}
        )
    ).json()
    dns.records[(CHALLENGE, "TXT")] = [first["verification"]["value"]]

    assert await recheck_pending(db, dns.nameservers) == 1

    assert _hosts(easypanel, project) == [(HOST, True, "letsencrypt")]
    assert await count(db, "service_domains", status="attached", host=HOST) == 1
    assert await recheck_pending(db, dns.nameservers) == 0
    later = clock.now() + timedelta(days=8)
    with clock_at(lambda: later):
        assert await recheck_pending(db, dns.nameservers) == 0
    async with db() as session:
        status, error = (
            await session.execute(
                text("SELECT status, last_error FROM service_domains WHERE id = :id"),
                {"id": late["id"]},
            )
        ).one()
    assert status == "failed"
    assert error == (
        "Not verified within 7 days: No TXT record found at _skypanel-challenge.late.customer.test"
    )


async def test_the_service_page_shows_the_domains_card(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    admin: Account,
    alice: Account,
) -> None:
    await client.put(
        "/api/admin/service-domain", headers=admin.headers, json={"domain": "apps.example.com"}
    )
    services, project = await _app(client, db, alice)
    token = await _signed_in_browser(client, alice)
    web = services.removeprefix("/api/containers")
    added = await client.post(
        f"{web}/web/domains/add", data={cookies.CSRF_FIELD: token, "host": HOST, "port": "8080"}
    )
    assert added.status_code == 303, added.text
    sent = (added.cookies.get(cookies.FLASH) or "").strip('"')
    [flash] = cookies.decode_flashes(get_settings(), sent)
    assert flash["kind"] == "success"
    assert f"Create the TXT record {CHALLENGE} with the value" in flash["text"]
    page = await client.get(f"{web}/web")
    card = await client.get(f"{web}/web/domains")

    assert page.status_code == 200
    assert f'hx-get="{web}/web/domains"' in page.text
    assert card.status_code == 200, card.text
    assert f'href="https://{project}-web.apps.example.com"' in card.text
    assert f'data-domain="{HOST}"' in card.text
    assert "pending verification" in card.text
    assert f"<code>{CHALLENGE}</code>" in card.text
