"""A service a customer creates directly on Easypanel (with a raw login) is imported by drift
reconciliation with the same claims a deployment makes: its Swarm name, its hosts and its
published ports. What another tenant already holds is not taken: the service is stopped."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.schemas import AppSpec, DomainSpec, ImageSource, PortSpec
from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from skypanel.reconcile.service import reconcile
from tests.conftest import runner_of
from tests.support import Account, services_url, subscribed

ALICE = "test-user-s-organization"


async def test_an_imported_service_claims_what_is_free_and_is_stopped_for_what_is_not(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await subscribed(client, db, alice)
    await subscribed(client, db, bob)
    bobs = await client.post(
        f"{await services_url(client, bob)}/app",
        headers=bob.headers,
        json={
            "serviceName": "shop",
            "source": {"type": "image", "image": "nginx:1.27"},
            "domains": [{"host": "shop.example.com"}],
            "ports": [{"published": 30500, "target": 80}],
        },
    )
    assert bobs.status_code == 202, bobs.text
    async with EasypanelClient(easypanel.base_url, easypanel.token) as raw_login:
        await raw_login.create_app(
            ALICE,
            AppSpec(
                service_name="side",
                source=ImageSource(image="nginx"),
                domains=[DomainSpec(host="side.example.org")],
                ports=[PortSpec(published=30600, target=80)],
            ),
        )
        await raw_login.create_app(
            ALICE,
            AppSpec(
                service_name="grab",
                source=ImageSource(image="nginx"),
                domains=[DomainSpec(host="SHOP.example.com")],
                ports=[PortSpec(published=30500, target=80)],
            ),
        )

    runner = runner_of(client)
    report = await reconcile(db, runner.clients)
    await runner.run_all(report.operations)

    assert sorted(report.imported) == [f"{ALICE}/grab", f"{ALICE}/side"]
    assert report.stopped_unsafe == [f"{ALICE}/grab"]
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT s.service_name, s.swarm_name, s.status, s.last_error,"
                " array(SELECT host FROM service_domains d WHERE d.service_id = s.id),"
                " array(SELECT port FROM service_ports p WHERE p.service_id = s.id)"
                " FROM container_services s WHERE s.organization_id = :org"
                " ORDER BY s.service_name"
            ),
            {"org": alice.organization_id},
        )
        found = {row[0]: tuple(row[1:]) for row in rows}
    assert found["side"] == (f"{ALICE}_side", "running", None, ["side.example.org"], [30600])
    swarm, status, reason, hosts, ports = found["grab"]
    assert (swarm, status, hosts, ports) == (f"{ALICE}_grab", "stopped", [], [])
    assert reason == (
        "Stopped by SkyPanel because it uses the domain SHOP.example.com and the published"
        " port 30500/tcp, which is not allowed."
    )
    assert easypanel.controller.tasks(ALICE, "grab")[0] == 0
