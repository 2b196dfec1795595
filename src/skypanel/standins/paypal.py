"""A PayPal stand-in: OAuth, Orders v2, Payments v2 captures and refunds, webhooks and their
signature verification, over real HTTP on a loopback port.

No payment provider is reachable from where SkyPanel is built and tested, yet the code that talks
to PayPal must be exercised over the wire, with PayPal's shapes, errors and signed webhooks. This
server follows PayPal's documented REST API closely enough for SkyPanel's client, its demo and
users' test setups (point SKYPANEL_PAYPAL_API_BASE at it):

    with running_paypal(webhook_url="http://127.0.0.1:8000/paypal/webhook") as paypal:
        ...  # create an order through the API
        paypal.approve(order_id)  # what the buyer's Approve button does
        ...  # capture through the API; the webhook receives signed events

State lives in one `PayPalStandin` per server. Webhooks are signed as PayPal signs them (RSA
SHA-256 over `transmission_id|transmission_time|webhook_id|crc32(body)`) with a key pair made at
start, whose self-signed certificate the stand-in serves at the PAYPAL-CERT-URL it sends.

Left out on purpose: intent AUTHORIZE, order PATCH and confirm-payment-source, vaulting,
subscriptions, disputes, and PayPal's automatic retries of failed deliveries (tests call
`redeliver`, which is synchronous and so deterministic).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import html
import json
import logging
import queue
import re
import secrets
import socket
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

import httpx
import uvicorn
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from skypanel.kit.money import round_half_up

log = logging.getLogger(__name__)

Json = dict[str, Any]
_T = TypeVar("_T")
Endpoint = Callable[[Request], Awaitable[Response]]

AUTH_ALGO = "SHA256withRSA"
TOKEN_LIFETIME = 32_400
"""Seconds an access token lives (PayPal's sandbox hands out about nine hours)."""
DELIVERY_TIMEOUT = 5.0
_CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS"}
    | {"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"}
)
"""The currencies PayPal's REST API takes."""
_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
"""Currencies PayPal takes in whole units only."""
_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$", re.ASCII)
"""PayPal's documented pattern for `amount.value`."""
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_MESSAGES = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication"
        " credentials.",
    ),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business"
        " validation.",
    ),
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _paypal_id(length: int = 17) -> str:
    """Ids shaped like PayPal's (upper-case letters and digits), so clients' length and pattern
    checks meet what they will meet in production."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class PayPalError(Exception):
    """An error answered in PayPal's shape: `{name, message, debug_id, details: [{issue, ...}]}`."""

    def __init__(self, status: int, issue: str, description: str, field: str | None = None):
        super().__init__(f"{issue}: {description}")
        self.status = status
        self.detail: Json = {"issue": issue, "description": description}
        if field is not None:
            self.detail |= {"field": field, "location": "body"}

    def body(self) -> Json:
        name, message = _MESSAGES[self.status]
        return {
            "name": name,
            "message": message,
            "debug_id": secrets.token_hex(7)[:13],
            "details": [self.detail],
        }


def _invalid(issue: str, description: str, field: str | None = None) -> NoReturn:
    raise PayPalError(400, issue, description, field)


def _refused(issue: str, description: str, field: str | None = None) -> NoReturn:
    raise PayPalError(422, issue, description, field)


@dataclass(frozen=True, slots=True)
class _Money:
    """An amount in the currency's minor units, so sums and comparisons are exact."""

    currency: str
    minor: int

    @property
    def decimals(self) -> int:
        return 0 if self.currency in _NO_DECIMALS else 2

    def json(self) -> Json:
        if self.decimals == 0:
            return {"currency_code": self.currency, "value": str(self.minor)}
        whole, part = divmod(self.minor, 100)
        return {"currency_code": self.currency, "value": f"{whole}.{part:02d}"}


def _parse_money(raw: Any, field: str) -> _Money:
    """Check an `amount` object as PayPal does: syntax is a 400, business rules a 422."""
    if not isinstance(raw, dict):
        _invalid("MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    currency, value = raw.get("currency_code"), raw.get("value")
    if not isinstance(currency, str) or not isinstance(value, str):
        _invalid("MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    if len(value) > 32 or not _VALUE.fullmatch(value):
        _invalid(
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
            f"{field}/value",
        )
    if currency not in _CURRENCIES:
        _refused(
            "CURRENCY_NOT_SUPPORTED", "Currency code is not supported.", f"{field}/currency_code"
        )
    places = len(value.partition(".")[2])
    if currency in _NO_DECIMALS and places:
        _refused("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.", f"{field}/value")
    if places > 2:
        _refused(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            f"{field}/value",
        )
    amount = _Money(currency, int(Decimal(value).scaleb(0 if currency in _NO_DECIMALS else 2)))
    if amount.minor <= 0:
        _refused("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", f"{field}/value")
    return amount


@dataclass
class _Unit:
    reference_id: str
    amount: _Money
    custom_id: str | None
    invoice_id: str | None
    description: str | None
    capture_ids: list[str] = field(default_factory=list)


@dataclass
class _Order:
    id: str
    status: str
    units: list[_Unit]
    return_url: str | None
    cancel_url: str | None
    payer_action: bool
    """Created with `payment_source`: PayPal answers PAYER_ACTION_REQUIRED, link payer-action."""
    create_time: str
    update_time: str
    payer: Json | None = None


@dataclass
class _Refund:
    id: str
    capture_id: str
    amount: _Money
    create_time: str


@dataclass
class _Capture:
    id: str
    order_id: str
    status: str
    amount: _Money
    custom_id: str | None
    invoice_id: str | None
    create_time: str
    update_time: str
    refunds: list[_Refund] = field(default_factory=list)

    @property
    def refundable(self) -> int:
        return self.amount.minor - sum(refund.amount.minor for refund in self.refunds)


@dataclass(frozen=True, slots=True)
class _Webhook:
    id: str
    url: str
    event_types: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types

    def json(self) -> Json:
        return {
            "id": self.id,
            "url": self.url,
            "event_types": [{"name": name} for name in self.event_types],
        }


def _signing_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A fresh key pair and its self-signed certificate (PEM), standing in for PayPal's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SkyPanel PayPal stand-in")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=366))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def signed_message(transmission_id: str, time: str, webhook_id: str, body: bytes) -> bytes:
    """The string PayPal signs for a webhook transmission."""
    return f"{transmission_id}|{time}|{webhook_id}|{zlib.crc32(body)}".encode()


class PayPalStandin:
    """Everything one stand-in remembers, behind one lock (the server's handlers and the test's
    thread both touch it), plus the thread that delivers webhooks in the order they happened."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client_id = "standin-" + secrets.token_urlsafe(24)
        self.client_secret = secrets.token_urlsafe(32)
        self.cert_url = f"{base_url}/v1/notifications/certs/CERT-standin"
        self._key, self.cert_pem = _signing_identity()
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._orders: dict[str, _Order] = {}
        self._captures: dict[str, _Capture] = {}
        self._refunds: dict[str, _Refund] = {}
        self._webhooks: list[_Webhook] = []
        self._events: dict[str, Json] = {}
        self._sent: dict[str, bytes] = {}
        """Each transmission's exact body, so verify-webhook-signature can check those bytes."""
        self._replies: dict[tuple[str, str], tuple[int, Json]] = {}
        self._decline_next = False
        self._outbox: queue.Queue[tuple[_Webhook, Json] | None] = queue.Queue()
        self._http = httpx.Client(timeout=DELIVERY_TIMEOUT)
        self._deliverer = threading.Thread(target=self._deliver_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._deliverer.start()

    def close(self) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        self._outbox.put(None)
        self._deliverer.join(timeout=DELIVERY_TIMEOUT * 2)
        self._http.close()

    # -- OAuth -----------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = "A21AA" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens.add(token)
        return token

    def knows_token(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    # -- idempotency -----------------------------------------------------------------------

    def _once(
        self, scope: str, request_id: str | None, work: Callable[[], tuple[int, Json]]
    ) -> tuple[int, Json]:
        """Run `work` once per PayPal-Request-Id and scope; a repeat gets the first answer.
        Errors are not remembered, so a refused request can be retried with the same id."""
        with self._lock:
            if request_id is None:
                return work()
            key = (scope, request_id)
            if key not in self._replies:
                self._replies[key] = work()
            return self._replies[key]

    # -- orders ----------------------------------------------------------------------------

    def create_order(self, body: Json, request_id: str | None) -> tuple[int, Json]:
        return self._once("create", request_id, lambda: self._create_order(body))

    def _create_order(self, body: Json) -> tuple[int, Json]:
        if body.get("intent") != "CAPTURE":
            _invalid(
                "INVALID_PARAMETER_VALUE", "The stand-in supports intent CAPTURE only.", "/intent"
            )
        raw_units = body.get("purchase_units")
        if not isinstance(raw_units, list) or not 1 <= len(raw_units) <= 10:
            _invalid(
                "MISSING_REQUIRED_PARAMETER",
                "Between 1 and 10 purchase units are required.",
                "/purchase_units",
            )
        units = [_unit(raw, f"/purchase_units/{index}") for index, raw in enumerate(raw_units)]
        if len({unit.reference_id for unit in units}) != len(units):
            _refused(
                "DUPLICATE_REFERENCE_ID",
                "reference_id must be unique across purchase units.",
                "/purchase_units",
            )
        experience = _dig(body, "payment_source", "paypal", "experience_context")
        context = experience or _dig(body, "application_context") or {}
        now = _now()
        order = _Order(
            id=_paypal_id(),
            status="PAYER_ACTION_REQUIRED" if "payment_source" in body else "CREATED",
            units=units,
            return_url=_text(context.get("return_url")),
            cancel_url=_text(context.get("cancel_url")),
            payer_action="payment_source" in body,
            create_time=now,
            update_time=now,
        )
        self._orders[order.id] = order
        return 201, self._order_json(order)

    def order(self, order_id: str) -> Json:
        with self._lock:
            return self._order_json(self._find_order(order_id))

    def approve(self, order_id: str) -> str | None:
        """The buyer pressed Approve: the order gains a payer and waits for the merchant.
        Answers where to send the buyer (the return URL), if the merchant gave one."""
        with self._lock:
            order = self._find_order(order_id)
            if order.status == "APPROVED":
                return self._back_to_merchant(order)
            if order.status not in {"CREATED", "PAYER_ACTION_REQUIRED"}:
                _refused(
                    "ORDER_ALREADY_COMPLETED",
                    f"The order is {order.status}, not awaiting approval.",
                )
            order.status, order.update_time = "APPROVED", _now()
            order.payer = {
                "payer_id": _paypal_id(13),
                "email_address": "buyer@example.com",
                "name": {"given_name": "Test", "surname": "Buyer"},
                "address": {"country_code": "US"},
            }
            self._emit(
                "CHECKOUT.ORDER.APPROVED",
                "checkout-order",
                "An order has been approved by buyer",
                self._order_json(order),
            )
            return self._back_to_merchant(order)

    def cancel(self, order_id: str) -> str | None:
        """The buyer walked away: PayPal leaves the order as it was and sends them back."""
        with self._lock:
            order = self._find_order(order_id)
        if order.cancel_url is None:
            return None
        return _with_query(order.cancel_url, {"token": order.id})

    @staticmethod
    def _back_to_merchant(order: _Order) -> str | None:
        if order.return_url is None or order.payer is None:
            return None
        return _with_query(
            order.return_url, {"token": order.id, "PayerID": order.payer["payer_id"]}
        )

    def capture_order(self, order_id: str, request_id: str | None) -> tuple[int, Json]:
        return self._once(f"capture:{order_id}", request_id, lambda: self._capture_order(order_id))

    def _capture_order(self, order_id: str) -> tuple[int, Json]:
        order = self._find_order(order_id)
        if order.status == "COMPLETED":
            _refused(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured. If 'intent=CAPTURE' only"
                " one capture per order is allowed.",
            )
        if order.status != "APPROVED":
            _refused("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
        declined, self._decline_next = self._decline_next, False
        now = _now()
        for unit in order.units:
            capture = _Capture(
                id=_paypal_id(),
                order_id=order.id,
                status="DECLINED" if declined else "COMPLETED",
                amount=unit.amount,
                custom_id=unit.custom_id,
                invoice_id=unit.invoice_id,
                create_time=now,
                update_time=now,
            )
            self._captures[capture.id] = capture
            unit.capture_ids.append(capture.id)
            resource = self._capture_json(capture) | {
                "supplementary_data": {"related_ids": {"order_id": order.id}}
            }
            money = f"{capture.amount.json()['value']} {capture.amount.currency}"
            if declined:
                self._emit(
                    "PAYMENT.CAPTURE.DENIED", "capture", f"Payment denied for {money}", resource
                )
            else:
                self._emit(
                    "PAYMENT.CAPTURE.COMPLETED",
                    "capture",
                    f"Payment completed for {money}",
                    resource,
                )
        order.status, order.update_time = "COMPLETED", now
        return 201, self._order_json(order)

    def decline_next_capture(self) -> None:
        with self._lock:
            self._decline_next = True

    # -- captures and refunds --------------------------------------------------------------

    def capture(self, capture_id: str) -> Json:
        with self._lock:
            return self._capture_json(self._find(self._captures, capture_id))

    def refund_capture(
        self, capture_id: str, body: Json, request_id: str | None
    ) -> tuple[int, Json]:
        return self._once(
            f"refund:{capture_id}", request_id, lambda: self._refund_capture(capture_id, body)
        )

    def _refund_capture(self, capture_id: str, body: Json) -> tuple[int, Json]:
        capture = self._find(self._captures, capture_id)
        if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            if capture.status == "REFUNDED":
                _refused("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            _refused("INVALID_RESOURCE_STATE", f"A {capture.status} capture cannot be refunded.")
        if "amount" in body:
            amount = _parse_money(body["amount"], "/amount")
            if amount.currency != capture.amount.currency:
                _refused(
                    "CURRENCY_MISMATCH",
                    "The refund must be in the capture's currency.",
                    "/amount/currency_code",
                )
        else:
            amount = _Money(capture.amount.currency, capture.refundable)
        if amount.minor > capture.refundable:
            _refused(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to"
                " the capture amount that has not yet been refunded.",
                "/amount/value",
            )
        refund = _Refund(_paypal_id(), capture.id, amount, _now())
        capture.refunds.append(refund)
        capture.status = "REFUNDED" if capture.refundable == 0 else "PARTIALLY_REFUNDED"
        capture.update_time = refund.create_time
        self._refunds[refund.id] = refund
        money = f"{amount.json()['value']} {amount.currency}"
        self._emit(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            f"A {money} capture payment was refunded",
            self._refund_json(refund),
        )
        return 201, self._refund_json(refund)

    def refund(self, refund_id: str) -> Json:
        with self._lock:
            return self._refund_json(self._find(self._refunds, refund_id))

    # -- webhooks --------------------------------------------------------------------------

    def register_webhook(self, url: str, event_types: tuple[str, ...] = ("*",)) -> Json:
        webhook = _Webhook(_paypal_id(), url, event_types)
        with self._lock:
            if any(known.url == url for known in self._webhooks):
                _invalid("WEBHOOK_URL_ALREADY_EXISTS", "Webhook URL already exists.", "/url")
            self._webhooks.append(webhook)
        return webhook.json()

    def webhooks(self) -> list[Json]:
        with self._lock:
            return [webhook.json() for webhook in self._webhooks]

    def first_webhook_id(self) -> str | None:
        with self._lock:
            return self._webhooks[0].id if self._webhooks else None

    def events(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(list(self._events.values()))

    def event(self, event_id: str) -> Json:
        with self._lock:
            return copy.deepcopy(self._find(self._events, event_id))

    def resend(self, event_id: str) -> Json:
        """PayPal's resend: queue the event again for every webhook that wants it."""
        with self._lock:
            event = self._find(self._events, event_id)
            for webhook in self._webhooks:
                if webhook.wants(event["event_type"]):
                    self._outbox.put((webhook, event))
            return copy.deepcopy(event)

    def redeliver(self, event_id: str, times: int = 1) -> None:
        """Send an event again now, on this thread: same event id, fresh transmission."""
        with self._lock:
            event = self._find(self._events, event_id)
            targets = [webhook for webhook in self._webhooks if webhook.wants(event["event_type"])]
        for _ in range(times):
            for webhook in targets:
                self._deliver(webhook, event)

    def verify(self, body: Json) -> str:
        """PayPal's verify-webhook-signature, checked against the bytes actually sent.

        PayPal re-serialises the posted `webhook_event` before taking its CRC, so a receiver
        whose JSON library reorders keys or reformats numbers gets FAILURE for a genuine event.
        The stand-in instead keeps each transmission's raw body and verifies against it when
        the posted event equals it; any change to the event therefore fails, as it must."""
        with self._lock:
            sent = self._sent.get(str(body["transmission_id"]))
        if (
            sent is None
            or body["auth_algo"] != AUTH_ALGO
            or body["cert_url"] != self.cert_url
            or json.loads(sent) != body["webhook_event"]
        ):
            return "FAILURE"
        message = signed_message(
            str(body["transmission_id"]),
            str(body["transmission_time"]),
            str(body["webhook_id"]),
            sent,
        )
        try:
            signature = base64.b64decode(str(body["transmission_sig"]), validate=True)
            self._key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error):
            return "FAILURE"
        return "SUCCESS"

    # -- internals: the callers of _emit, _find and the _json renderers hold the lock ---------

    def _emit(self, event_type: str, resource_type: str, summary: str, resource: Json) -> None:
        event_id = f"WH-{_paypal_id()}-{_paypal_id()}"
        link = f"{self.base_url}/v1/notifications/webhooks-events/{event_id}"
        event: Json = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                {"href": link, "rel": "self", "method": "GET"},
                {"href": f"{link}/resend", "rel": "resend", "method": "POST"},
            ],
        }
        self._events[event_id] = event
        for webhook in self._webhooks:
            if webhook.wants(event_type):
                self._outbox.put((webhook, event))

    def _deliver_forever(self) -> None:
        while (job := self._outbox.get()) is not None:
            self._deliver(*job)

    def _deliver(self, webhook: _Webhook, event: Json) -> None:
        """POST one signed transmission; a receiver that fails is logged, not retried."""
        body = json.dumps(event, separators=(",", ":")).encode()
        transmission_id, sent_at = secrets.token_hex(16), _now()
        signature = self._key.sign(
            signed_message(transmission_id, sent_at, webhook.id, body),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        with self._lock:
            self._sent[transmission_id] = body
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": sent_at,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }
        try:
            self._http.post(webhook.url, content=body, headers=headers).raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("webhook %s to %s failed: %s", event["id"], webhook.url, exc)

    def _find_order(self, order_id: str) -> _Order:
        return self._find(self._orders, order_id)

    @staticmethod
    def _find(table: dict[str, _T], key: str) -> _T:
        if key not in table:
            raise PayPalError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        return table[key]

    def _order_json(self, order: _Order) -> Json:
        self_link = f"{self.base_url}/v2/checkout/orders/{order.id}"
        links = [{"href": self_link, "rel": "self", "method": "GET"}]
        if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
            rel = "payer-action" if order.payer_action else "approve"
            approve = f"{self.base_url}/checkoutnow?{urlencode({'token': order.id})}"
            links.append({"href": approve, "rel": rel, "method": "GET"})
        if order.status == "APPROVED":
            links.append({"href": f"{self_link}/capture", "rel": "capture", "method": "POST"})
        payload: Json = {
            "id": order.id,
            "intent": "CAPTURE",
            "status": order.status,
            "purchase_units": [self._unit_json(unit) for unit in order.units],
            "create_time": order.create_time,
            "update_time": order.update_time,
            "links": links,
        }
        if order.payer is not None:
            payload["payer"] = order.payer
            payload["payment_source"] = {
                "paypal": {
                    "email_address": order.payer["email_address"],
                    "account_id": order.payer["payer_id"],
                    "account_status": "VERIFIED",
                    "name": order.payer["name"],
                }
            }
        return payload

    def _unit_json(self, unit: _Unit) -> Json:
        payload: Json = {"reference_id": unit.reference_id, "amount": unit.amount.json()}
        for name in ("custom_id", "invoice_id", "description"):
            if (value := getattr(unit, name)) is not None:
                payload[name] = value
        payload["payee"] = {"merchant_id": "STANDINMERCH1", "email_address": "merchant@example.com"}
        if unit.capture_ids:
            captures = [self._capture_json(self._captures[id_]) for id_ in unit.capture_ids]
            payload["payments"] = {"captures": captures}
        return payload

    def _capture_json(self, capture: _Capture) -> Json:
        link = f"{self.base_url}/v2/payments/captures/{capture.id}"
        order_link = f"{self.base_url}/v2/checkout/orders/{capture.order_id}"
        payload: Json = {
            "id": capture.id,
            "status": capture.status,
            "amount": capture.amount.json(),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
        }
        if capture.status != "DECLINED":
            fee = _fee(capture.amount)
            payload["seller_receivable_breakdown"] = {
                "gross_amount": capture.amount.json(),
                "paypal_fee": fee.json(),
                "net_amount": _Money(fee.currency, capture.amount.minor - fee.minor).json(),
            }
        for name in ("custom_id", "invoice_id"):
            if (value := getattr(capture, name)) is not None:
                payload[name] = value
        payload |= {
            "create_time": capture.create_time,
            "update_time": capture.update_time,
            "links": [
                {"href": link, "rel": "self", "method": "GET"},
                {"href": f"{link}/refund", "rel": "refund", "method": "POST"},
                {"href": order_link, "rel": "up", "method": "GET"},
            ],
        }
        return payload

    def _refund_json(self, refund: _Refund) -> Json:
        link = f"{self.base_url}/v2/payments/refunds/{refund.id}"
        capture_link = f"{self.base_url}/v2/payments/captures/{refund.capture_id}"
        return {
            "id": refund.id,
            "status": "COMPLETED",
            "amount": refund.amount.json(),
            "create_time": refund.create_time,
            "update_time": refund.create_time,
            "links": [
                {"href": link, "rel": "self", "method": "GET"},
                {"href": capture_link, "rel": "up", "method": "GET"},
            ],
        }


def _fee(amount: _Money) -> _Money:
    """PayPal's US standard rate, 3.49% plus a fixed 0.49, never more than the amount."""
    fee = round_half_up(Fraction(amount.minor * 349, 10_000)) + 49
    return _Money(amount.currency, min(fee, amount.minor))


def _unit(raw: Any, field: str) -> _Unit:
    if not isinstance(raw, dict):
        _invalid("INVALID_PARAMETER_SYNTAX", "A purchase unit must be an object.", field)
    return _Unit(
        reference_id=_text(raw.get("reference_id")) or "default",
        amount=_parse_money(raw.get("amount"), f"{field}/amount"),
        custom_id=_text(raw.get("custom_id")),
        invoice_id=_text(raw.get("invoice_id")),
        description=_text(raw.get("description")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dig(body: Json, *path: str) -> Json | None:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


# -- HTTP ------------------------------------------------------------------------------------


async def _json_body(request: Request) -> Json:
    try:
        body = await request.json()
    except ValueError:
        _invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
    if not isinstance(body, dict):
        _invalid("MALFORMED_REQUEST_JSON", "The request body must be a JSON object.")
    return body


def _reply(status_and_body: tuple[int, Json]) -> JSONResponse:
    status, body = status_and_body
    return JSONResponse(body, status_code=status)


def create_paypal_app(standin: PayPalStandin) -> Starlette:
    """The stand-in's routes over one `PayPalStandin`."""

    def bearer(endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not standin.knows_token(token):
                raise PayPalError(
                    401, "INVALID_TOKEN", "The access token is missing, invalid or expired."
                )
            return await endpoint(request)

        return guarded

    async def token(request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or not (
            secrets.compare_digest(client_id.encode(), standin.client_id.encode())
            and secrets.compare_digest(secret.encode(), standin.client_secret.encode())
        ):
            # The OAuth endpoint answers in OAuth's error shape, not the REST one.
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status_code=401,
            )
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Grant Type is NULL or not supported",
                },
                status_code=400,
            )
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments/payment/authcapture"
                " https://uri.paypal.com/services/payments/refund"
                " https://uri.paypal.com/services/applications/webhooks",
                "access_token": standin.issue_token(),
                "token_type": "Bearer",
                "app_id": "APP-STANDIN0000000",
                "expires_in": TOKEN_LIFETIME,
                "nonce": f"{_now()}{secrets.token_urlsafe(24)}",
            }
        )

    async def create_order(request: Request) -> Response:
        body = await _json_body(request)
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.create_order(body, request_id))

    async def get_order(request: Request) -> Response:
        return JSONResponse(standin.order(request.path_params["id"]))

    async def capture_order(request: Request) -> Response:
        order_id = request.path_params["id"]
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.capture_order(order_id, request_id))

    async def get_capture(request: Request) -> Response:
        return JSONResponse(standin.capture(request.path_params["id"]))

    async def refund_capture(request: Request) -> Response:
        capture_id = request.path_params["id"]
        body = await _json_body(request) if await request.body() else {}
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.refund_capture(capture_id, body, request_id))

    async def get_refund(request: Request) -> Response:
        return JSONResponse(standin.refund(request.path_params["id"]))

    async def webhooks(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"webhooks": standin.webhooks()})
        body = await _json_body(request)
        url, types = body.get("url"), body.get("event_types")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            _invalid("INVALID_PARAMETER_SYNTAX", "url must be an http(s) URL.", "/url")
        if not isinstance(types, list) or not types:
            _invalid("MISSING_REQUIRED_PARAMETER", "event_types is required.", "/event_types")
        names = tuple(
            kind["name"]
            for kind in types
            if isinstance(kind, dict) and isinstance(kind.get("name"), str)
        )
        if not names:
            _invalid("MISSING_REQUIRED_PARAMETER", "event_types need a name.", "/event_types")
        return JSONResponse(standin.register_webhook(url, names), status_code=201)

    async def get_event(request: Request) -> Response:
        return JSONResponse(standin.event(request.path_params["id"]))

    async def resend_event(request: Request) -> Response:
        return JSONResponse(standin.resend(request.path_params["id"]), status_code=202)

    async def verify(request: Request) -> Response:
        body = await _json_body(request)
        for name in (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        ):
            if name not in body:
                _invalid("MISSING_REQUIRED_PARAMETER", f"{name} is required.", f"/{name}")
        return JSONResponse({"verification_status": standin.verify(body)})

    async def certificate(request: Request) -> Response:
        return Response(standin.cert_pem, media_type="application/x-pem-file")

    async def checkout(request: Request) -> Response:
        """The buyer's approval page: plain HTML, no scripts, no external assets."""
        order_id = request.query_params.get("token", "")
        try:
            order = standin.order(order_id)
        except PayPalError:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Unknown order.</p>", 404)
        lines = "".join(
            f"<li>{html.escape(unit.get('description', unit['reference_id']))}: "
            f"{html.escape(unit['amount']['value'])} {html.escape(unit['amount']['currency_code'])}"
            "</li>"
            for unit in order["purchase_units"]
        )
        action = f"/checkoutnow/{html.escape(order_id)}/approve"
        cancel = f"/checkoutnow/{html.escape(order_id)}/cancel"
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<title>PayPal stand-in checkout</title></head><body>"
            f"<h1>Pay with PayPal (stand-in)</h1><p>Order {html.escape(order_id)}, "
            f"{html.escape(order['status'])}</p><ul>{lines}</ul>"
            f'<form method=post action="{action}"><button type=submit>Approve</button></form>'
            f'<form method=post action="{cancel}"><button type=submit>Cancel</button></form>'
            "</body></html>"
        )

    async def approve(request: Request) -> Response:
        target = standin.approve(request.path_params["id"])
        if target is None:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Approved.</p>")
        return RedirectResponse(target, status_code=303)

    async def cancel(request: Request) -> Response:
        target = standin.cancel(request.path_params["id"])
        if target is None:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Cancelled.</p>")
        return RedirectResponse(target, status_code=303)

    async def paypal_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayPalError)
        body = exc.body()
        return JSONResponse(body, exc.status, headers={"PayPal-Debug-Id": body["debug_id"]})

    return Starlette(
        routes=[
            Route("/v1/oauth2/token", token, methods=["POST"]),
            Route("/v2/checkout/orders", bearer(create_order), methods=["POST"]),
            Route("/v2/checkout/orders/{id}", bearer(get_order), methods=["GET"]),
            Route("/v2/checkout/orders/{id}/capture", bearer(capture_order), methods=["POST"]),
            Route("/v2/payments/captures/{id}", bearer(get_capture), methods=["GET"]),
            Route("/v2/payments/captures/{id}/refund", bearer(refund_capture), methods=["POST"]),
            Route("/v2/payments/refunds/{id}", bearer(get_refund), methods=["GET"]),
            Route("/v1/notifications/webhooks", bearer(webhooks), methods=["GET", "POST"]),
            Route("/v1/notifications/webhooks-events/{id}", bearer(get_event), methods=["GET"]),
            Route(
                "/v1/notifications/webhooks-events/{id}/resend",
                bearer(resend_event),
                methods=["POST"],
            ),
            Route("/v1/notifications/verify-webhook-signature", bearer(verify), methods=["POST"]),
            Route("/v1/notifications/certs/{name}", certificate, methods=["GET"]),
            Route("/checkoutnow", checkout, methods=["GET"]),
            Route("/checkoutnow/{id}/approve", approve, methods=["POST"]),
            Route("/checkoutnow/{id}/cancel", cancel, methods=["POST"]),
        ],
        exception_handlers={PayPalError: paypal_error},
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


# -- running ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunningPayPal:
    """A running stand-in: where it is, its credentials, and the test's levers."""

    base_url: str
    client_id: str
    client_secret: str
    standin: PayPalStandin

    @property
    def webhook_id(self) -> str | None:
        """The first registered webhook's id (the one SkyPanel verifies against)."""
        return self.standin.first_webhook_id()

    def register_webhook(self, url: str) -> str:
        return str(self.standin.register_webhook(url)["id"])

    def events(self) -> list[Json]:
        return self.standin.events()

    def redeliver(self, event_id: str, times: int = 1) -> None:
        self.standin.redeliver(event_id, times)

    def approve(self, order_id: str) -> None:
        """Press the approval page's Approve button, as the buyer's browser would."""
        response = httpx.post(f"{self.base_url}/checkoutnow/{order_id}/approve", timeout=5)
        if response.status_code not in {200, 303}:
            raise RuntimeError(
                f"approving {order_id} failed: {response.status_code} {response.text}"
            )

    def decline_next_capture(self) -> None:
        """The next capture is declined (PAYMENT.CAPTURE.DENIED), as a failed funding source."""
        self.standin.decline_next_capture()


@contextmanager
def running_paypal(*, webhook_url: str | None = None) -> Iterator[RunningPayPal]:
    """Serve a stand-in on a free loopback port in a daemon thread for the block's duration."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    standin = PayPalStandin(base_url)
    if webhook_url is not None:
        standin.register_webhook(webhook_url)
    config = uvicorn.Config(
        create_paypal_app(standin),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="paypal-standin", daemon=True
    )
    standin.start()
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the PayPal stand-in did not start")
            time.sleep(0.01)
        yield RunningPayPal(base_url, standin.client_id, standin.client_secret, standin)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        standin.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m skypanel.standins.paypal --port N`: serve in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--webhook-url", help="register this webhook at start")
    args = parser.parse_args(argv)
    base_url = f"http://{args.host}:{args.port}"
    standin = PayPalStandin(base_url)
    if args.webhook_url:
        standin.register_webhook(args.webhook_url)
    sys.stdout.write(
        f"PayPal stand-in at {base_url}\n"
        f"SKYPANEL_PAYPAL_API_BASE={base_url}\n"
        f"client_id={standin.client_id}\nclient_secret={standin.client_secret}\n"
        + (f"webhook_id={standin.first_webhook_id()}\n" if args.webhook_url else "")
    )
    sys.stdout.flush()
    standin.start()
    try:
        uvicorn.run(create_paypal_app(standin), host=args.host, port=args.port, log_level="info")
    finally:
        standin.close()


if __name__ == "__main__":
    main()
