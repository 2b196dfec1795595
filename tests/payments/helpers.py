"""What the payment tests do again and again against a served panel: a customer with billing
details, a top-up started, the wallet read back, a wait for the worker."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

PASSWORD = "correct horse battery staple"
BILLING_DETAILS = {
    "legalName": "Payer Ltd",
    "addressLine1": "1 Main Street",
    "postalCode": "10001",
    "city": "New York",
    "country": "US",
}


def new_customer(http: httpx.Client) -> dict[str, str]:
    """A newly registered customer with billing details (needed before a first payment)."""
    email = f"payer-{secrets.token_hex(4)}@example.com"
    registered = http.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Payer"}
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
    profiled = http.put("/api/billing-profile", headers=headers, json=BILLING_DETAILS)
    assert profiled.status_code == 200, profiled.text
    return headers


def start_top_up(
    http: httpx.Client, headers: dict[str, str], amount: str, provider: str
) -> dict[str, Any]:
    started = http.post(
        "/api/wallet/top-ups", headers=headers, json={"amount": amount, "provider": provider}
    )
    assert started.status_code == 201, started.text
    body: dict[str, Any] = started.json()
    return body


def balance(http: httpx.Client, headers: dict[str, str]) -> str:
    return str(http.get("/api/wallet", headers=headers).json()["balance"])


def until(predicate: Callable[[], Any], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")
