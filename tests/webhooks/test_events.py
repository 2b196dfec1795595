"""What happens in the panel reaches the webhooks: a credit, a subscription with its charge and
invoice, a deployment and a stop, each once, each signed."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from skypanel.config import Settings
from skypanel.models import EasypanelServer, WebhookDelivery
from tests.support import Account, make_plan, services_url
from tests.webhooks.conftest import Receiver


async def test_the_money_and_the_services_reach_the_endpoint(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    private_allowed: Settings,
    server: EasypanelServer,
    receiver: Receiver,
    admin: Account,
    alice: Account,
) -> None:
    registered = await client.post(
        "/api/webhooks/endpoints",
        json={"url": receiver.url(), "events": ["*"]},
        headers=alice.headers,
    )
    endpoint = registered.json()
    credited = await client.post(
        f"/api/admin/organizations/{alice.organization_id}/wallet/adjustments",
        headers=admin.headers,
        json={"amount": "50.00", "description": "Bank transfer"},
    )
    assert credited.status_code == 201, credited.text
    plan = await make_plan(db, price_cents=1000)
    subscribed = await client.post(
        "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
    )
    assert subscribed.status_code == 201, subscribed.text
    services = await services_url(client, alice)
    deployed = await client.post(
        f"{services}/app",
        headers=alice.headers,
        json={"serviceName": "web", "source": {"type": "image", "image": "nginx"}},
    )
    assert deployed.status_code == 202, deployed.text
    stopped = await client.post(f"{services}/web/stop", headers=alice.headers)
    assert stopped.status_code == 202, stopped.text

    async with db() as session:
        types = sorted((await session.scalars(select(WebhookDelivery.event_type))).all())
    assert types == [
        "invoice.issued",
        "service.deployed",
        "service.stopped",
        "subscription.created",
        "wallet.credited",
        "wallet.debited",
    ]
    bodies = {}
    for request in receiver.requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
        payload = json.loads(request.body)
        bodies[payload["type"]] = payload["data"]
    assert set(bodies) == set(types), "sent right after each commit"
    assert bodies["wallet.credited"]["amount"] == "50.00"
    assert bodies["wallet.debited"]["amount"] == "10.00"
    assert bodies["invoice.issued"]["number"].startswith("INV-")
    assert bodies["service.stopped"]["service"] == "web"
