"""Wallet top-ups through PayPal (Orders v2), against the PayPal stand-in over HTTP.

The webhook is registered with the stand-in before the panel starts (the panel checks every
signature against that webhook's id), so the panel's port is chosen first.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.standins.paypal import RunningPayPal, running_paypal
from tests.payments.helpers import balance, new_customer, start_top_up, until
from tests.serving import Panel, free_port, running_panel


@pytest.fixture(scope="module")
def paypal() -> Iterator[RunningPayPal]:
    with running_paypal() as running:
        yield running


@pytest.fixture(scope="module")
def panel(settings: Settings, easypanel: RunningEmulator, paypal: RunningPayPal) -> Iterator[Panel]:
    port = free_port()
    webhook_id = paypal.register_webhook(f"http://127.0.0.1:{port}/api/payments/paypal/webhook")
    configured = settings.model_copy(
        update={
            "paypal_client_id": paypal.client_id,
            "paypal_client_secret": SecretStr(paypal.client_secret),
            "paypal_webhook_id": webhook_id,
            "paypal_api_base": paypal.base_url,
        }
    )
    with running_panel(configured, easypanel, port=port) as running:
        yield running


@pytest.fixture
def http(panel: Panel) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=panel.url, timeout=20) as client:
        yield client


def _order_id(top_up: dict[str, Any]) -> str:
    return str(httpx.URL(top_up["checkoutUrl"]).params["token"])


def _status(http: httpx.Client, headers: dict[str, str], top_up: dict[str, Any]) -> str:
    return str(http.get(f"/api/wallet/top-ups/{top_up['id']}", headers=headers).json()["status"])


def _events(paypal: RunningPayPal, kind: str) -> list[dict[str, Any]]:
    return [e for e in paypal.events() if e["event_type"] == kind]


def test_an_approved_order_is_captured_and_credits_once(
    http: httpx.Client, paypal: RunningPayPal
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "30.00", "paypal")
    assert top_up["checkoutUrl"].startswith(paypal.base_url)
    paypal.approve(_order_id(top_up))
    until(lambda: balance(http, customer) == "30.00", "the capture to credit the wallet")
    until(lambda: _events(paypal, "PAYMENT.CAPTURE.COMPLETED"), "the capture's notification")

    for kind in ("CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"):
        [event] = [e for e in _events(paypal, kind) if json.dumps(e).count(_order_id(top_up)) > 0]
        paypal.redeliver(event["id"], times=5)
        both = [threading.Thread(target=paypal.redeliver, args=(event["id"],)) for _ in range(2)]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
    assert balance(http, customer) == "30.00"
    credits = http.get("/api/wallet/transactions?kind=credit", headers=customer).json()["items"]
    assert [c["amount"] for c in credits] == ["30.00"]
    assert _status(http, customer, top_up) == "succeeded"


def test_a_notification_paypal_did_not_sign_credits_nothing(
    http: httpx.Client, paypal: RunningPayPal
) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "12.00", "paypal")
    forged = {
        "id": f"WH-{secrets.token_hex(6)}",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": {
            "id": "FORGED",
            "status": "COMPLETED",
            "amount": {"value": "12.00", "currency_code": "USD"},
            "supplementary_data": {"related_ids": {"order_id": _order_id(top_up)}},
        },
    }
    headers = {
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": f"{paypal.base_url}/v1/notifications/certs/fake",
        "PAYPAL-TRANSMISSION-ID": secrets.token_hex(8),
        "PAYPAL-TRANSMISSION-SIG": "bm90IGEgc2lnbmF0dXJl",
        "PAYPAL-TRANSMISSION-TIME": "2026-12-01T12:00:00Z",
    }
    refused = http.post("/api/payments/paypal/webhook", json=forged, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "INVALID_SIGNATURE"
    unsigned = http.post("/api/payments/paypal/webhook", json=forged)
    assert unsigned.status_code == 400, unsigned.text
    assert balance(http, customer) == "0.00"
    assert _status(http, customer, top_up) == "pending"


def test_a_declined_capture_fails_the_top_up(http: httpx.Client, paypal: RunningPayPal) -> None:
    customer = new_customer(http)
    top_up = start_top_up(http, customer, "15.00", "paypal")
    paypal.decline_next_capture()
    paypal.approve(_order_id(top_up))
    until(lambda: _status(http, customer, top_up) == "failed", "the top-up to fail")
    failed = http.get(f"/api/wallet/top-ups/{top_up['id']}", headers=customer).json()
    assert failed["failureReason"] == "PayPal declined the payment"
    assert balance(http, customer) == "0.00"
