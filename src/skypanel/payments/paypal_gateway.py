"""PayPal: Orders v2 for top-ups (approved by the payer, captured by the panel), refunds of
captures, and webhooks verified with PayPal's verify-webhook-signature."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import httpx

from skypanel.kit.errors import InvalidInput
from skypanel.kit.money import format_money, parse_money
from skypanel.payments.providers import (
    Checkout,
    InvalidSignature,
    Notification,
    Outcome,
    ProviderRefused,
    ProviderUnavailable,
    SavedCard,
)

_SIGNATURE_HEADERS = (
    "auth-algo",
    "cert-url",
    "transmission-id",
    "transmission-sig",
    "transmission-time",
)


class PayPalGateway:
    """PayPal Orders v2 with intent CAPTURE: the payer approves on PayPal's page, then the panel
    captures (on the approval notification or the return page, whichever comes first; the
    capture is idempotent on the order) and credits from the completed capture."""

    provider = "paypal"

    def __init__(self, client_id: str, secret: str, webhook_id: str | None, api_base: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=api_base,
            timeout=httpx.Timeout(10.0, connect=5.0),
            auth=_PayPalToken(client_id, secret, api_base),
        )
        self._webhook_id = webhook_id

    async def create_checkout(
        self,
        top_up_id: uuid.UUID,
        amount_cents: int,
        currency: str,
        *,
        email: str,
        return_url: str,
        save_card: SavedCard | None = None,
    ) -> Checkout:
        if save_card is not None:
            raise InvalidInput("Cards are saved with Stripe payments only", field="saveCard")
        order = await self._call(
            "POST",
            "/v2/checkout/orders",
            json={
                "intent": "CAPTURE",
                "purchase_units": [
                    {
                        "reference_id": str(top_up_id),
                        "custom_id": str(top_up_id),
                        "description": "Wallet top-up",
                        "amount": {"currency_code": currency, "value": format_money(amount_cents)},
                    }
                ],
                "payment_source": {
                    "paypal": {
                        "email_address": email,
                        "experience_context": {
                            "return_url": return_url,
                            "cancel_url": return_url,
                            "user_action": "PAY_NOW",
                        },
                    }
                },
            },
            request_id=f"top-up-{top_up_id}",
        )
        link = next(
            (x["href"] for x in order.get("links", []) if x["rel"] in ("payer-action", "approve")),
            None,
        )
        if link is None:
            raise ProviderUnavailable("PayPal answered without a page to approve the payment")
        return Checkout(id=order["id"], url=link)

    async def notification(self, body: bytes, headers: dict[str, str]) -> Notification:
        """Verified with PayPal's verify-webhook-signature against our webhook id; an approved
        order is captured here, so the notification carries the capture's outcome."""
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise InvalidSignature("The notification is not PayPal's JSON") from exc
        if self._webhook_id is None or not isinstance(event, dict):
            raise InvalidSignature("The notification's PayPal signature cannot be checked")
        given = {name: headers.get(f"paypal-{name}") for name in _SIGNATURE_HEADERS}
        if None in given.values():
            raise InvalidSignature("The notification has no PayPal signature")
        verdict = await self._call(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            json={
                **{name.replace("-", "_"): value for name, value in given.items()},
                "webhook_id": self._webhook_id,
                "webhook_event": event,
            },
        )
        if verdict.get("verification_status") != "SUCCESS":
            raise InvalidSignature("The notification's PayPal signature is not valid")
        kind, resource = str(event.get("event_type")), event.get("resource") or {}
        event_id = str(event.get("id"))
        if kind == "CHECKOUT.ORDER.APPROVED":
            return _with_event(await self._capture(str(resource.get("id"))), event_id, kind)
        if kind in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED"):
            order_id = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
            return _with_event(_capture_outcome(order_id, resource), event_id, kind)
        return Notification("paypal", event_id, kind, None, "ignored")

    async def confirm(self, checkout_id: str) -> Notification:
        order = await self._call("GET", f"/v2/checkout/orders/{checkout_id}")
        if order["status"] == "APPROVED":
            return await self._capture(checkout_id)
        if order["status"] == "COMPLETED":
            capture = order["purchase_units"][0]["payments"]["captures"][0]
            return _capture_outcome(checkout_id, capture)
        outcome: Outcome = "expired" if order["status"] == "VOIDED" else "ignored"
        return Notification("paypal", f"confirm:{checkout_id}", "order.read", checkout_id, outcome)

    async def refund(
        self, payment_id: str, amount_cents: int, currency: str, *, refund_id: uuid.UUID
    ) -> str:
        try:
            refund = await self._call(
                "POST",
                f"/v2/payments/captures/{payment_id}/refund",
                json={"amount": {"value": format_money(amount_cents), "currency_code": currency}},
                request_id=f"refund-{refund_id}",
            )
        except ProviderUnavailable as exc:
            raise ProviderRefused(f"PayPal refused the refund: {exc.message}") from exc
        return str(refund["id"])

    async def check(self) -> str:
        """Get an access token with the credentials and read the webhooks they see."""
        hooks = await self._call("GET", "/v1/notifications/webhooks")
        known = {hook.get("id") for hook in hooks.get("webhooks", [])}
        if self._webhook_id and self._webhook_id not in known:
            raise ProviderUnavailable(f"PayPal knows no webhook {self._webhook_id}")
        return (
            "PayPal answered; the webhook is registered"
            if self._webhook_id
            else ("PayPal answered; no webhook id is set, so notifications cannot be verified")
        )

    async def _capture(self, order_id: str) -> Notification:
        order = await self._call(
            "POST",
            f"/v2/checkout/orders/{order_id}/capture",
            json={},
            request_id=f"capture-{order_id}",
        )
        capture = order["purchase_units"][0]["payments"]["captures"][0]
        return _capture_outcome(order_id, capture)

    async def _call(
        self, method: str, path: str, *, json: Any = None, request_id: str | None = None
    ) -> Any:
        headers = {"PayPal-Request-Id": request_id} if request_id else {}
        try:
            answer = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"PayPal could not be reached: {exc}") from exc
        if answer.status_code >= 400:
            said = answer.json().get("message", answer.text) if answer.content else answer.text
            raise ProviderUnavailable(f"PayPal refused the request: {said}")
        return answer.json()


class _PayPalToken(httpx.Auth):
    """An OAuth client-credentials token, fetched when missing and again after a 401."""

    requires_response_body = True

    def __init__(self, client_id: str, secret: str, api_base: str) -> None:
        self._basic = httpx.BasicAuth(client_id, secret)
        self._url = f"{api_base}/v1/oauth2/token"
        self._token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Any:
        for attempt in range(2):
            if self._token is None:
                token_request = httpx.Request(
                    "POST", self._url, data={"grant_type": "client_credentials"}
                )
                answer = yield next(self._basic.auth_flow(token_request))
                if answer.status_code != 200:
                    raise ProviderUnavailable("PayPal refused the panel's API credentials")
                self._token = str(answer.json()["access_token"])
            request.headers["Authorization"] = f"Bearer {self._token}"
            response = yield request
            if response.status_code != 401 or attempt:
                return
            self._token = None


def _capture_outcome(order_id: Any, capture: dict[str, Any]) -> Notification:
    amount = capture.get("amount") or {}
    completed = capture.get("status") == "COMPLETED"
    return Notification(
        provider="paypal",
        event_id=f"capture:{capture.get('id')}",
        event_type="capture.read",
        checkout_id=str(order_id) if order_id else None,
        outcome="paid" if completed else "failed",
        payment_id=capture.get("id"),
        amount_cents=parse_money(amount["value"]) if "value" in amount else None,
        currency=amount.get("currency_code"),
        reason=None if completed else "PayPal declined the payment",
    )


def _with_event(note: Notification, event_id: str, kind: str) -> Notification:
    return dataclasses.replace(note, event_id=event_id, event_type=kind)
