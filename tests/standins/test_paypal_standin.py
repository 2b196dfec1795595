"""The PayPal stand-in over real HTTP: OAuth, the checkout flow, idempotency, refunds, and signed
webhooks checked both by the stand-in's verify-webhook-signature and by hand against its
certificate, as SkyPanel may do either."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skypanel.standins.paypal import RunningPayPal, running_paypal, signed_message

Json = dict[str, Any]
RETURN_URL = "https://panel.example/billing/paypal/return"
CANCEL_URL = "https://panel.example/billing/paypal/cancel"


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> Json:
        event: Json = json.loads(self.body)
        return event


class Receiver:
    """A merchant's webhook endpoint on a loopback port, recording every POST it gets."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._arrived:
                    receiver.deliveries.append(
                        Delivery({k.upper(): v for k, v in self.headers.items()}, body)
                    )
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is for failures."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/paypal/webhook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout)
            assert len(self.deliveries) == count
            return list(self.deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def paypal(receiver: Receiver) -> Iterator[RunningPayPal]:
    with running_paypal(webhook_url=receiver.url) as running:
        yield running


@pytest.fixture
def api(paypal: RunningPayPal) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=paypal.base_url, timeout=5) as client:
        grant = client.post(
            "/v1/oauth2/token",
            auth=(paypal.client_id, paypal.client_secret),
            data={"grant_type": "client_credentials"},
        )
        client.headers["Authorization"] = f"Bearer {grant.json()['access_token']}"
        yield client


def create_order(api: httpx.Client, value: str = "10.00", **extra: Any) -> httpx.Response:
    unit = {"reference_id": "sub-1", "custom_id": "org-42", "invoice_id": "INV-7"}
    body = {
        "intent": "CAPTURE",
        "purchase_units": [unit | {"amount": {"currency_code": "USD", "value": value}}],
        "application_context": {"return_url": RETURN_URL, "cancel_url": CANCEL_URL},
    }
    return api.post("/v2/checkout/orders", json=body, **extra)


def approved_order(api: httpx.Client, paypal: RunningPayPal) -> str:
    order_id: str = create_order(api).json()["id"]
    paypal.approve(order_id)
    return order_id


def verify(api: httpx.Client, delivery: Delivery, event: Json | None = None) -> str:
    """Ask the stand-in, as SkyPanel's webhook endpoint will."""
    headers = delivery.headers
    response = api.post(
        "/v1/notifications/verify-webhook-signature",
        json={
            "auth_algo": headers["PAYPAL-AUTH-ALGO"],
            "cert_url": headers["PAYPAL-CERT-URL"],
            "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
            "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
            "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
            "webhook_id": api_webhook_id(api),
            "webhook_event": delivery.event if event is None else event,
        },
    )
    assert response.status_code == 200
    status: str = response.json()["verification_status"]
    return status


def api_webhook_id(api: httpx.Client) -> str:
    webhook_id: str = api.get("/v1/notifications/webhooks").json()["webhooks"][0]["id"]
    return webhook_id


def test_token_is_granted_for_the_client_credentials_only(paypal: RunningPayPal) -> None:
    url = f"{paypal.base_url}/v1/oauth2/token"
    form = {"grant_type": "client_credentials"}
    grant = httpx.post(url, auth=(paypal.client_id, paypal.client_secret), data=form)
    wrong = httpx.post(url, auth=(paypal.client_id, "not-the-secret"), data=form)

    assert grant.status_code == 200
    assert grant.json().keys() == {
        "access_token",
        "token_type",
        "expires_in",
        "app_id",
        "nonce",
        "scope",
    }
    assert grant.json()["token_type"] == "Bearer"
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "Client Authentication failed",
    }


@pytest.mark.parametrize("authorization", [None, "Bearer forged", "Basic abc"])
def test_api_without_a_valid_token_is_refused(
    paypal: RunningPayPal, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.post(f"{paypal.base_url}/v2/checkout/orders", json={}, headers=headers)

    assert response.status_code == 401
    assert response.json()["name"] == "AUTHENTICATION_FAILURE"
    assert response.json()["details"][0]["issue"] == "INVALID_TOKEN"
    assert response.json()["debug_id"]


def test_checkout_approve_capture_delivers_signed_events(
    api: httpx.Client, paypal: RunningPayPal, receiver: Receiver
) -> None:
    created = create_order(api)
    order = created.json()
    approve_link = next(link["href"] for link in order["links"] if link["rel"] == "approve")
    page = httpx.get(approve_link)
    buyer = httpx.post(f"{paypal.base_url}/checkoutnow/{order['id']}/approve")
    capture = api.post(f"/v2/checkout/orders/{order['id']}/capture")

    assert created.status_code == 201
    assert order["status"] == "CREATED"
    assert order["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert "10.00 USD" in page.text
    assert "<script" not in page.text
    assert 'method=post action="/checkoutnow/' in page.text
    assert buyer.status_code == 303
    back = urlsplit(buyer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == RETURN_URL
    payer_id = api.get(f"/v2/checkout/orders/{order['id']}").json()["payer"]["payer_id"]
    assert parse_qs(back.query) == {"token": [order["id"]], "PayerID": [payer_id]}
    assert capture.status_code == 201
    assert capture.json()["status"] == "COMPLETED"
    captured = capture.json()["purchase_units"][0]["payments"]["captures"][0]
    assert captured["status"] == "COMPLETED"
    assert captured["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert captured["final_capture"] is True
    assert (captured["custom_id"], captured["invoice_id"]) == ("org-42", "INV-7")
    assert captured["seller_receivable_breakdown"]["net_amount"]["value"] == "9.16"

    approved, completed = receiver.wait_for(2)
    assert approved.event["event_type"] == "CHECKOUT.ORDER.APPROVED"
    assert approved.event["resource"]["id"] == order["id"]
    assert completed.event["event_type"] == "PAYMENT.CAPTURE.COMPLETED"
    assert completed.event["resource"]["id"] == captured["id"]
    assert completed.event["resource"]["supplementary_data"] == {
        "related_ids": {"order_id": order["id"]}
    }
    assert [verify(api, approved), verify(api, completed)] == ["SUCCESS", "SUCCESS"]
    tampered = completed.event
    tampered["resource"]["amount"]["value"] = "1000.00"
    assert verify(api, completed, tampered) == "FAILURE"
    assert [event["id"] for event in paypal.events()] == [
        approved.event["id"],
        completed.event["id"],
    ]


def test_signature_verifies_against_the_served_certificate(
    api: httpx.Client, paypal: RunningPayPal, receiver: Receiver
) -> None:
    approved_order(api, paypal)
    (delivery,) = receiver.wait_for(1)
    headers = delivery.headers
    assert headers["PAYPAL-AUTH-ALGO"] == "SHA256withRSA"
    assert paypal.webhook_id is not None
    cert = x509.load_pem_x509_certificate(httpx.get(headers["PAYPAL-CERT-URL"]).content)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)

    message = signed_message(
        headers["PAYPAL-TRANSMISSION-ID"],
        headers["PAYPAL-TRANSMISSION-TIME"],
        paypal.webhook_id,
        delivery.body,
    )
    signature = base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"])
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_verification_fails_for_a_forged_signature_or_another_webhook(
    api: httpx.Client, paypal: RunningPayPal, receiver: Receiver
) -> None:
    approved_order(api, paypal)
    (delivery,) = receiver.wait_for(1)
    forged = Delivery(
        delivery.headers | {"PAYPAL-TRANSMISSION-SIG": base64.b64encode(b"x" * 256).decode()},
        delivery.body,
    )
    other_time = Delivery(
        delivery.headers | {"PAYPAL-TRANSMISSION-TIME": "2020-01-01T00:00:00Z"}, delivery.body
    )

    assert verify(api, forged) == "FAILURE"
    assert verify(api, other_time) == "FAILURE"
    assert verify(api, delivery) == "SUCCESS"


def test_payment_source_asks_for_payer_action(api: httpx.Client) -> None:
    body = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "EUR", "value": "5"}}],
        "payment_source": {
            "paypal": {"experience_context": {"return_url": RETURN_URL, "cancel_url": CANCEL_URL}}
        },
    }
    order = api.post("/v2/checkout/orders", json=body).json()

    assert order["status"] == "PAYER_ACTION_REQUIRED"
    assert [link["rel"] for link in order["links"]] == ["self", "payer-action"]
    assert order["purchase_units"][0]["amount"] == {"currency_code": "EUR", "value": "5.00"}


def test_cancel_sends_the_buyer_back_and_leaves_the_order(
    api: httpx.Client, paypal: RunningPayPal
) -> None:
    order_id = create_order(api).json()["id"]
    cancel = httpx.post(f"{paypal.base_url}/checkoutnow/{order_id}/cancel")

    assert cancel.status_code == 303
    assert cancel.headers["location"] == f"{CANCEL_URL}?token={order_id}"
    assert api.get(f"/v2/checkout/orders/{order_id}").json()["status"] == "CREATED"
    assert paypal.events() == []


def test_create_with_the_same_request_id_returns_the_same_order(api: httpx.Client) -> None:
    first = create_order(api, headers={"PayPal-Request-Id": "order-1"})
    again = create_order(api, headers={"PayPal-Request-Id": "order-1"})
    other = create_order(api, headers={"PayPal-Request-Id": "order-2"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.json()["id"] != first.json()["id"]


def test_capture_before_approval_is_refused_and_changes_nothing(
    api: httpx.Client, paypal: RunningPayPal
) -> None:
    order_id = create_order(api).json()["id"]
    refused = api.post(f"/v2/checkout/orders/{order_id}/capture")

    assert refused.status_code == 422
    assert refused.json()["name"] == "UNPROCESSABLE_ENTITY"
    assert refused.json()["details"][0]["issue"] == "ORDER_NOT_APPROVED"
    assert api.get(f"/v2/checkout/orders/{order_id}").json()["status"] == "CREATED"
    assert paypal.events() == []


def test_capture_with_the_same_request_id_captures_once(
    api: httpx.Client, paypal: RunningPayPal
) -> None:
    order_id = approved_order(api, paypal)
    url = f"/v2/checkout/orders/{order_id}/capture"
    first = api.post(url, headers={"PayPal-Request-Id": "capture-1"})
    again = api.post(url, headers={"PayPal-Request-Id": "capture-1"})
    twice = api.post(url)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert twice.status_code == 422
    assert twice.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"
    kinds = [event["event_type"] for event in paypal.events()]
    assert kinds == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]


def test_partial_refund_then_never_beyond_the_remainder(
    api: httpx.Client, paypal: RunningPayPal
) -> None:
    order_id = approved_order(api, paypal)
    order = api.post(f"/v2/checkout/orders/{order_id}/capture").json()
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    refund_url = f"/v2/payments/captures/{capture_id}/refund"

    partial = api.post(refund_url, json={"amount": {"currency_code": "USD", "value": "4.00"}})
    beyond = api.post(refund_url, json={"amount": {"currency_code": "USD", "value": "6.01"}})
    after_refusal = api.get(f"/v2/payments/captures/{capture_id}").json()["status"]
    rest = api.post(refund_url)
    done = api.post(refund_url, json={"amount": {"currency_code": "USD", "value": "0.01"}})

    assert partial.status_code == 201
    assert partial.json()["status"] == "COMPLETED"
    assert partial.json()["amount"] == {"currency_code": "USD", "value": "4.00"}
    assert beyond.status_code == 422
    assert beyond.json()["details"][0]["issue"] == "REFUND_AMOUNT_EXCEEDED"
    assert after_refusal == "PARTIALLY_REFUNDED"
    assert rest.json()["amount"] == {"currency_code": "USD", "value": "6.00"}
    assert done.json()["details"][0]["issue"] == "CAPTURE_FULLY_REFUNDED"
    assert api.get(f"/v2/payments/captures/{capture_id}").json()["status"] == "REFUNDED"
    refunds = [
        e["resource"] for e in paypal.events() if e["event_type"] == "PAYMENT.CAPTURE.REFUNDED"
    ]
    assert [refund["amount"]["value"] for refund in refunds] == ["4.00", "6.00"]


def test_declined_capture_sends_capture_denied(api: httpx.Client, paypal: RunningPayPal) -> None:
    order_id = approved_order(api, paypal)
    paypal.decline_next_capture()
    order = api.post(f"/v2/checkout/orders/{order_id}/capture").json()

    assert order["purchase_units"][0]["payments"]["captures"][0]["status"] == "DECLINED"
    assert paypal.events()[-1]["event_type"] == "PAYMENT.CAPTURE.DENIED"


@pytest.mark.parametrize(
    ("amount", "status", "issue"),
    [
        ({"currency_code": "USD", "value": "10.001"}, 422, "DECIMAL_PRECISION"),
        ({"currency_code": "JPY", "value": "100.5"}, 422, "DECIMALS_NOT_SUPPORTED"),
        ({"currency_code": "USD", "value": "0.00"}, 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ({"currency_code": "XYZ", "value": "1.00"}, 422, "CURRENCY_NOT_SUPPORTED"),
        ({"currency_code": "USD", "value": "ten"}, 400, "INVALID_PARAMETER_SYNTAX"),
        ({"currency_code": "USD"}, 400, "MISSING_REQUIRED_PARAMETER"),
    ],
)
def test_invalid_amounts_are_refused_in_paypals_shape(
    api: httpx.Client, paypal: RunningPayPal, amount: Json, status: int, issue: str
) -> None:
    body = {"intent": "CAPTURE", "purchase_units": [{"amount": amount}]}
    response = api.post("/v2/checkout/orders", json=body)

    assert response.status_code == status
    error = response.json()
    assert error.keys() == {"name", "message", "debug_id", "details"}
    assert error["details"][0]["issue"] == issue
    assert error["details"][0]["field"].startswith("/purchase_units/0/amount")
    assert response.headers["PayPal-Debug-Id"] == error["debug_id"]


def test_redeliver_resends_the_same_event_with_a_fresh_signature(
    api: httpx.Client, paypal: RunningPayPal, receiver: Receiver
) -> None:
    approved_order(api, paypal)
    (original,) = receiver.wait_for(1)
    paypal.redeliver(original.event["id"], times=2)
    deliveries = receiver.wait_for(3)

    assert {delivery.event["id"] for delivery in deliveries} == {original.event["id"]}
    assert len({delivery.headers["PAYPAL-TRANSMISSION-ID"] for delivery in deliveries}) == 3
    assert [verify(api, delivery) for delivery in deliveries] == ["SUCCESS"] * 3


def test_webhooks_are_registered_and_listed(api: httpx.Client, paypal: RunningPayPal) -> None:
    created = api.post(
        "/v1/notifications/webhooks",
        json={
            "url": "http://127.0.0.1:9/hook",
            "event_types": [{"name": "PAYMENT.CAPTURE.COMPLETED"}],
        },
    )
    listed = api.get("/v1/notifications/webhooks").json()["webhooks"]

    assert created.status_code == 201
    assert created.json()["event_types"] == [{"name": "PAYMENT.CAPTURE.COMPLETED"}]
    assert [webhook["id"] for webhook in listed] == [paypal.webhook_id, created.json()["id"]]


def test_resend_through_the_api_queues_the_event_again(
    api: httpx.Client, paypal: RunningPayPal, receiver: Receiver
) -> None:
    approved_order(api, paypal)
    (original,) = receiver.wait_for(1)
    resent = api.post(f"/v1/notifications/webhooks-events/{original.event['id']}/resend")
    _, again = receiver.wait_for(2)

    assert resent.status_code == 202
    assert again.event == original.event
    assert verify(api, again) == "SUCCESS"
