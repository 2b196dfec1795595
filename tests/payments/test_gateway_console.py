"""Admins configure the payment gateways in the console: checked with the provider before they
are saved, secrets encrypted and never shown again, taking over from the environment at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.standins.stripe import RunningStripe, running_stripe
from tests.support import Account

GATEWAYS = "/api/admin/payment-gateways"


@pytest.fixture(scope="module")
def stripe_standin() -> Iterator[RunningStripe]:
    with running_stripe() as running:
        yield running


async def test_a_checked_stripe_configuration_is_saved_encrypted_and_used(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    admin: Account,
    alice: Account,
    stripe_standin: RunningStripe,
) -> None:
    before = {g["provider"]: g for g in (await client.get(GATEWAYS, headers=admin.headers)).json()}
    assert before["stripe"]["configured"] is False
    refused = await client.post(
        "/api/wallet/top-ups", headers=alice.headers, json={"amount": "10.00", "provider": "stripe"}
    )
    assert refused.json()["error"]["code"] == "PROVIDER_NOT_CONFIGURED"

    body = {
        "testMode": True,
        "secret": stripe_standin.secret_key,
        "webhookSecret": stripe_standin.webhook_secret,
        "apiBase": stripe_standin.base_url,
    }
    live_key = await client.put(
        f"{GATEWAYS}/stripe", headers=admin.headers, json={**body, "testMode": False}
    )
    assert live_key.status_code == 422, live_key.text
    assert live_key.json()["error"]["details"]["field"] == "secret"

    saved = await client.put(f"{GATEWAYS}/stripe", headers=admin.headers, json=body)
    assert saved.status_code == 200, saved.text
    stripe = next(g for g in saved.json() if g["provider"] == "stripe")
    assert (stripe["configured"], stripe["source"], stripe["testMode"], stripe["secretSet"]) == (
        True,
        "console",
        True,
        True,
    )
    assert stripe["webhookUrl"].endswith("/api/payments/stripe/webhook")
    assert stripe_standin.secret_key not in saved.text
    async with db() as session:
        stored = (
            await session.execute(
                text("SELECT secret_encrypted, webhook_secret_encrypted FROM payment_gateways")
            )
        ).one()
    assert all(value.startswith("v1:") for value in stored)
    assert stripe_standin.secret_key not in stored[0]

    profile = {
        "legalName": "Alice Example",
        "addressLine1": "1 Rue de Rivoli",
        "postalCode": "75001",
        "city": "Paris",
        "country": "FR",
    }
    await client.put("/api/billing-profile", headers=alice.headers, json=profile)
    checked = await client.post(f"{GATEWAYS}/stripe/test", headers=admin.headers)
    assert checked.status_code == 200, checked.text
    assert checked.json()["message"].startswith("Stripe answered")
    top_up = await client.post(
        "/api/wallet/top-ups", headers=alice.headers, json={"amount": "10.00", "provider": "stripe"}
    )
    assert top_up.status_code == 201, top_up.text
    assert top_up.json()["checkoutUrl"].startswith(stripe_standin.base_url)


async def test_a_key_the_provider_refuses_is_not_saved_unless_asked(
    client: httpx.AsyncClient, admin: Account, stripe_standin: RunningStripe
) -> None:
    body = {
        "testMode": True,
        "secret": "sk_test_not-a-key-the-stand-in-knows",
        "webhookSecret": "whsec_x",
        "apiBase": "http://127.0.0.1:9",
    }
    refused = await client.put(f"{GATEWAYS}/stripe", headers=admin.headers, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "GATEWAY_CHECK_FAILED"
    listed = (await client.get(GATEWAYS, headers=admin.headers)).json()
    assert next(g for g in listed if g["provider"] == "stripe")["configured"] is False
    anyway = await client.put(
        f"{GATEWAYS}/stripe", headers=admin.headers, json={**body, "saveAnyway": True}
    )
    assert anyway.status_code == 200, anyway.text
    removed = await client.delete(f"{GATEWAYS}/stripe", headers=admin.headers)
    assert removed.status_code == 204


async def test_customers_cannot_see_or_change_gateways(
    client: httpx.AsyncClient, alice: Account
) -> None:
    assert (await client.get(GATEWAYS, headers=alice.headers)).status_code == 403
    changed = await client.put(
        f"{GATEWAYS}/paypal",
        headers=alice.headers,
        json={"testMode": True, "secret": "x", "clientId": "y"},
    )
    assert changed.status_code == 403
