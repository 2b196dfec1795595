"""Webhooks: the registered receivers, the events the stand-in emits, their signed delivery (on
one thread, in the order they happened), resends and redeliveries, and PayPal's
verify-webhook-signature. `PayPalStandin` builds on `_Notifications` and shares its lock."""

from __future__ import annotations

import copy
import json
import logging
import queue
import secrets
import threading
from dataclasses import dataclass

import httpx

from skypanel.standins.paypal._model import Json, _find, _invalid, _now, _paypal_id
from skypanel.standins.paypal._signing import (
    AUTH_ALGO,
    _sign,
    _signature_valid,
    _signing_identity,
    signed_message,
)

log = logging.getLogger("skypanel.standins.paypal")
"""The package's logger, as before the module became a package."""

DELIVERY_TIMEOUT = 5.0


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


class _Notifications:
    """The webhook half of a stand-in: receivers, events, the signing key and the delivery
    thread, behind the one lock the whole stand-in shares (handlers and tests both touch it)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cert_url = f"{base_url}/v1/notifications/certs/CERT-standin"
        self._key, self.cert_pem = _signing_identity()
        self._lock = threading.Lock()
        self._webhooks: list[_Webhook] = []
        self._events: dict[str, Json] = {}
        self._sent: dict[str, bytes] = {}
        """Each transmission's exact body, so verify-webhook-signature can check those bytes."""
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
            return copy.deepcopy(_find(self._events, event_id))

    def resend(self, event_id: str) -> Json:
        """PayPal's resend: queue the event again for every webhook that wants it."""
        with self._lock:
            event = _find(self._events, event_id)
            for webhook in self._webhooks:
                if webhook.wants(event["event_type"]):
                    self._outbox.put((webhook, event))
            return copy.deepcopy(event)

    def redeliver(self, event_id: str, times: int = 1) -> None:
        """Send an event again now, on this thread: same event id, fresh transmission."""
        with self._lock:
            event = _find(self._events, event_id)
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
        if not _signature_valid(self._key, str(body["transmission_sig"]), message):
            return "FAILURE"
        return "SUCCESS"

    # -- internals: the callers of _emit hold the lock ---------------------------------------

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
        signature = _sign(self._key, signed_message(transmission_id, sent_at, webhook.id, body))
        with self._lock:
            self._sent[transmission_id] = body
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": sent_at,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }
        try:
            self._http.post(webhook.url, content=body, headers=headers).raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("webhook %s to %s failed: %s", event["id"], webhook.url, exc)
