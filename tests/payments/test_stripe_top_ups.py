"""Wallet top-ups through Stripe Checkout, against the Stripe stand-in over HTTP.

The panel runs on a loopback port (its webhook must be reachable by the stand-in), the stand-in
beside it; the customer pays on the stand-in's hosted page (`pay`, what its Pay button does).
The wallet is credited only from the signed notification or the provider's own answer, once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from skypanel.config import Settings
from skypanel.demo import ensure_admin
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker
from skypanel.payments import recharge
from skypanel.payments.gateways import Gateways
from skypanel.payments.recharge import RechargeReport
from skypanel.standins.stripe import RunningStripe, running_stripe
from tests.payments.helpers import PASSWORD, balance, new_customer, start_top_up, until
from tests.serving import Panel, run, running_panel


@pytest.fixture(scope="module")
def stripe_standin() -> Iterator[RunningStripe]:
    with running_stripe() as running:
        yield running


@pytest.fixture(scope="module")
def configured(settings: Settings, stripe_standin: RunningStripe) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(stripe_standin.secret_key),
            "stripe_webhook_secret": SecretStr(stripe_standin.webhook_secret),
            "stripe_api_base": stripe_standin.base_url,
        }
    )


@pytest.fixture(scope="module")
def panel(
    configured: Settings, easypanel: RunningEmulator, stripe_standin: RunningStripe
) -> Iterator[Panel]:
    with running_panel(configured, easypanel) as running:
        stripe_standin.register_webhook(f"{running.url}/api/payments/stripe/webhook")
        yield running


@pytest.fixture
def http(panel: Panel) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=panel.url, timeout=20) as client:
        yield client


def _session_id(top_up: dict[str, Any]) -> str:
    return str(top_up["checkoutUrl"]).rstrip("/").rsplit("/", 1)[-1]


def _credits(http: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    page = http.get("/api/wallet/transactions?kind=credit", headers=headers).json()
    items: list[dict[str, Any]] = page["items"]
    return items


def _completed_event(stripe_standin: RunningStripe, session_id: str) -> str:
    for event in reversed(stripe_standin.events()):
        completed = event["type"] == "checkout.session.completed"
        if completed and event["data"]["object"]["id"] == session_id:
            return str(event["id"])
    pytest.fail(f"no checkout.session.completed for {session_id}")


def test_a_paid_top_up_credits_once_through_replays_and_concurrent_deliveries(
    http: httpx.Client, stripe_standin: RunningStripe
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "25.00", "stripe")
    assert (top_up["status"], top_up["provider"], top_up["amount"]) == (
        "pending",
        "stripe",
        "25.00",
    )
    assert top_up["checkoutUrl"].startswith(stripe_standin.base_url)
    assert balance(http, customer) == "0.00"

    stripe_standin.pay(_session_id(top_up))
    until(lambda: balance(http, customer) == "25.00", "the wallet to be credited")

    event_id = _completed_event(stripe_standin, _session_id(top_up))
    stripe_standin.redeliver(event_id, times=5)
    both = [threading.Thread(target=stripe_standin.redeliver, args=(event_id,)) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert balance(http, customer) == "25.00"
    [credit] = _credits(http, customer)
    assert (credit["amount"], credit["referenceType"], credit["referenceId"]) == (
        "25.00",
        "wallet_top_up",
        top_up["id"],
    )
    listed = http.get("/api/wallet/top-ups", headers=customer).json()["items"]
    assert [(t["id"], t["status"]) for t in listed] == [(top_up["id"], "succeeded")]
    [receipt] = http.get("/api/invoices", headers=customer).json()["items"]
    assert (receipt["kind"], receipt["total"], receipt["tax"], receipt["referenceId"]) == (
        "receipt",
        "25.00",
        "0.00",
        top_up["id"],
    )
    assert receipt["number"].startswith("RCT-")


def _signed(secret: str, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def _completion(session_id: str, amount_cents: int, currency: str = "usd") -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": amount_cents,
                "currency": currency,
                "payment_intent": f"pi_{secrets.token_hex(8)}",
            }
        },
    }


def test_a_notification_with_a_bad_signature_credits_nothing(
    http: httpx.Client, stripe_standin: RunningStripe
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "25.00", "stripe")
    forged, headers = _signed("whsec_not_the_secret", _completion(_session_id(top_up), 2500))
    refused = http.post("/api/payments/stripe/webhook", content=forged, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "INVALID_SIGNATURE"
    unsigned = http.post(
        "/api/payments/stripe/webhook",
        content=forged,
        headers={"Content-Type": "application/json"},
    )
    assert unsigned.status_code == 400, unsigned.text
    assert balance(http, customer) == "0.00"
    assert http.get(f"/api/wallet/top-ups/{top_up['id']}", headers=customer).json()["status"] == (
        "pending"
    )


def test_an_amount_other_than_the_top_up_is_flagged_not_credited(
    http: httpx.Client, stripe_standin: RunningStripe
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "25.00", "stripe")
    for amount, currency in ((2400, "usd"), (2500, "eur")):
        body, headers = _signed(
            stripe_standin.webhook_secret, _completion(_session_id(top_up), amount, currency)
        )
        answered = http.post("/api/payments/stripe/webhook", content=body, headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json()["outcome"] == "flagged"
    assert balance(http, customer) == "0.00"


def test_the_return_page_confirms_with_stripe_and_credits_once(
    http: httpx.Client, stripe_standin: RunningStripe
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "40.00", "stripe")
    pending = http.post(f"/api/wallet/top-ups/{top_up['id']}/confirm", headers=customer)
    assert pending.json()["status"] == "pending"
    stripe_standin.pay(_session_id(top_up))
    confirmed = http.post(f"/api/wallet/top-ups/{top_up['id']}/confirm", headers=customer)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert balance(http, customer) == "40.00"
    until(
        lambda: any(e["type"] == "checkout.session.completed" for e in stripe_standin.events()),
        "the notification",
    )
    time.sleep(0.5)
    assert len(_credits(http, customer)) == 1
    assert balance(http, customer) == "40.00"


def test_the_first_payment_needs_the_billing_details(http: httpx.Client) -> None:
    email = f"payer-{secrets.token_hex(4)}@example.com"
    registered = http.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "New"}
    )
    headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
    refused = http.post(
        "/api/wallet/top-ups", headers=headers, json={"amount": "25.00", "provider": "stripe"}
    )
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == (
        "BILLING_PROFILE_REQUIRED",
        "billingProfile",
    )
    assert "billing details" in error["message"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"amount": "4.99", "provider": "stripe"}, "AMOUNT_OUT_OF_RANGE", "amount"),
        ({"amount": "5000.01", "provider": "stripe"}, "AMOUNT_OUT_OF_RANGE", "amount"),
        ({"amount": "25.00", "provider": "paypal"}, "PROVIDER_NOT_CONFIGURED", "provider"),
    ],
)
def test_a_top_up_outside_the_limits_or_without_its_provider_is_refused(
    http: httpx.Client, body: dict[str, str], code: str, field: str
) -> None:
    customer = new_customer(http)
    refused = http.post("/api/wallet/top-ups", headers=customer, json=body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field)
    assert http.get("/api/wallet/top-ups", headers=customer).json()["items"] == []


@pytest.fixture(scope="module")
def admin(panel: Panel) -> dict[str, str]:
    email = f"admin-{secrets.token_hex(4)}@example.com"
    run(ensure_admin(panel.database_url, email, PASSWORD, "Refunding Admin"))
    with httpx.Client(base_url=panel.url) as http:
        signed_in = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['accessToken']}"}


def _paid(
    http: httpx.Client, stripe_standin: RunningStripe, customer: dict[str, str], amount: str
) -> dict[str, Any]:
    top_up = start_top_up(http, customer, amount, "stripe")
    stripe_standin.pay(_session_id(top_up))
    confirmed = http.post(f"/api/wallet/top-ups/{top_up['id']}/confirm", headers=customer)
    assert confirmed.json()["status"] == "succeeded", confirmed.text
    return top_up


def _organization(http: httpx.Client, customer: dict[str, str]) -> str:
    return str(http.get("/api/wallet", headers=customer).json()["organizationId"])


def test_a_refund_never_exceeds_what_is_unspent(
    http: httpx.Client, stripe_standin: RunningStripe, admin: dict[str, str]
) -> None:
    customer = new_customer(http)
    top_up = _paid(http, stripe_standin, customer, "25.00")
    spent = http.post(
        f"/api/admin/organizations/{_organization(http, customer)}/wallet/adjustments",
        headers=admin,
        json={"amount": "-10.00", "description": "Spent on services"},
    )
    assert spent.status_code == 201, spent.text
    refunds = f"/api/admin/top-ups/{top_up['id']}/refunds"

    too_much = http.post(refunds, headers=admin, json={"amount": "15.01", "reason": "Asked"})
    assert too_much.status_code == 409, too_much.text
    error = too_much.json()["error"]
    assert (error["code"], error["details"]["refundable"]) == ("REFUND_EXCEEDS_UNSPENT", "15.00")
    assert balance(http, customer) == "15.00"

    refunded = http.post(refunds, headers=admin, json={"amount": "15.00", "reason": "Asked"})
    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["status"], refunded.json()["amount"]) == ("succeeded", "15.00")
    assert balance(http, customer) == "0.00"
    assert any(e["type"] == "charge.refunded" for e in stripe_standin.events())
    documents = http.get("/api/invoices", headers=customer).json()["items"]
    credit_note, receipt = documents
    assert (credit_note["kind"], credit_note["total"]) == ("credit_note", "15.00")
    assert credit_note["relatedDocumentId"] == receipt["id"]
    again = http.post(refunds, headers=admin, json={"amount": "0.01", "reason": "Asked"})
    assert again.status_code == 409, again.text
    listed = http.get(
        f"/api/admin/top-ups?organizationId={_organization(http, customer)}", headers=admin
    ).json()["items"]
    assert [(t["status"], t["refunded"]) for t in listed] == [("succeeded", "15.00")]


def test_concurrent_refunds_together_stay_within_the_unspent_part(
    http: httpx.Client, panel: Panel, stripe_standin: RunningStripe, admin: dict[str, str]
) -> None:
    customer = new_customer(http)
    top_up = _paid(http, stripe_standin, customer, "10.00")
    answers: list[int] = []

    def refund() -> None:
        with httpx.Client(base_url=panel.url, timeout=20) as own:
            answers.append(
                own.post(
                    f"/api/admin/top-ups/{top_up['id']}/refunds",
                    headers=admin,
                    json={"amount": "7.00", "reason": "Twice by mistake"},
                ).status_code
            )

    both = [threading.Thread(target=refund) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert sorted(answers) == [201, 409]
    assert balance(http, customer) == "3.00"


def test_a_customer_cannot_refund(http: httpx.Client, stripe_standin: RunningStripe) -> None:
    customer = new_customer(http)
    top_up = _paid(http, stripe_standin, customer, "10.00")
    refused = http.post(
        f"/api/admin/top-ups/{top_up['id']}/refunds",
        headers=customer,
        json={"amount": "1.00", "reason": "Myself"},
    )
    assert refused.status_code == 403, refused.text
    assert balance(http, customer) == "10.00"


async def _recharge(settings: Settings, runs: int = 1) -> list[RechargeReport]:
    """What the worker's auto-recharge task does, `runs` times at once (separate connections)."""
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=runs, max_overflow=0)
    try:
        sessions = create_sessionmaker(engine)
        gateways = Gateways(settings)
        return list(await asyncio.gather(*(recharge.run(sessions, gateways) for _ in range(runs))))
    finally:
        await engine.dispose()


def _automatic(http: httpx.Client, customer: dict[str, str]) -> list[dict[str, Any]]:
    top_ups = http.get("/api/wallet/top-ups", headers=customer).json()["items"]
    return [t for t in top_ups if t["checkoutUrl"] == ""]


def test_auto_recharge_fires_once_per_threshold_crossing(
    http: httpx.Client,
    stripe_standin: RunningStripe,
    admin: dict[str, str],
    configured: Settings,
) -> None:
    customer = new_customer(http)
    rule = {"enabled": True, "threshold": "10.00", "amount": "20.00"}
    for wrong, field in (({"threshold": "-1.00"}, "threshold"), ({"amount": "0.00"}, "amount")):
        invalid = http.put("/api/wallet/auto-recharge", headers=customer, json={**rule, **wrong})
        assert invalid.status_code == 422, invalid.text
        assert [f["field"] for f in invalid.json()["error"]["details"]["fields"]] == [field]
    refused = http.put("/api/wallet/auto-recharge", headers=customer, json=rule)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "NO_SAVED_CARD"

    started = http.post(
        "/api/wallet/top-ups",
        headers=customer,
        json={"amount": "25.00", "provider": "stripe", "saveCard": True},
    )
    assert started.status_code == 201, started.text
    stripe_standin.pay(_session_id(started.json()))
    http.post(f"/api/wallet/top-ups/{started.json()['id']}/confirm", headers=customer)
    assert http.get("/api/wallet/auto-recharge", headers=customer).json()["cardSaved"] is True
    saved = http.put("/api/wallet/auto-recharge", headers=customer, json=rule)
    assert saved.status_code == 200, saved.text

    organization = _organization(http, customer)
    spend = f"/api/admin/organizations/{organization}/wallet/adjustments"
    http.post(spend, headers=admin, json={"amount": "-20.00", "description": "Services"})
    assert balance(http, customer) == "5.00"
    run(_recharge(configured, runs=2))
    run(_recharge(configured))
    assert balance(http, customer) == "25.00"
    assert [(t["status"], t["amount"]) for t in _automatic(http, customer)] == [
        ("succeeded", "20.00")
    ]

    http.post(spend, headers=admin, json={"amount": "-12.00", "description": "Services"})
    assert balance(http, customer) == "13.00"
    run(_recharge(configured))
    assert len(_automatic(http, customer)) == 1, "above the threshold: no recharge"

    http.post(spend, headers=admin, json={"amount": "-8.00", "description": "Services"})
    run(_recharge(configured, runs=2))
    assert balance(http, customer) == "25.00"
    assert len(_automatic(http, customer)) == 2

    below = {"enabled": True, "threshold": "40.00", "amount": "5.00"}
    assert http.put("/api/wallet/auto-recharge", headers=customer, json=below).status_code == 200
    run(_recharge(configured))
    run(_recharge(configured))
    assert balance(http, customer) == "30.00", "still below: one recharge for one crossing"
    assert len(_automatic(http, customer)) == 3
