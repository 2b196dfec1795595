"""Stripe: Checkout Sessions for top-ups, refunds, and off-session charges of a saved card."""

from __future__ import annotations

import uuid
from typing import Any

import stripe

from skypanel.payments.providers import (
    Checkout,
    InvalidSignature,
    Notification,
    Outcome,
    ProviderRefused,
    ProviderUnavailable,
    SavedCard,
    automatic_checkout,
)


class StripeGateway:
    """Stripe Checkout in payment mode: one line for the top-up, the top-up's id as the
    session's `client_reference_id` and in the PaymentIntent's metadata."""

    provider = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )
        self._webhook_secret = webhook_secret

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
        params: Any = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": "Wallet top-up"},
                    },
                }
            ],
            "client_reference_id": str(top_up_id),
            "customer_email": email,
            "metadata": {"topUpId": str(top_up_id)},
            "payment_intent_data": {"metadata": {"topUpId": str(top_up_id)}},
            "success_url": return_url,
            "cancel_url": return_url,
        }
        if save_card is not None:
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
            if save_card.customer_id:
                params["customer"] = save_card.customer_id
                del params["customer_email"]
            else:
                params["customer_creation"] = "always"
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"top-up-{top_up_id}"}
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe did not open the payment page: {_said(exc)}"
            ) from exc
        assert session.url is not None
        return Checkout(id=session.id, url=session.url)

    async def notification(self, body: bytes, headers: dict[str, str]) -> Notification:
        try:
            event = stripe.Webhook.construct_event(
                body, headers.get("stripe-signature"), self._webhook_secret
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature("The notification's Stripe signature is not valid") from exc
        raw = event.to_dict()
        if not raw["type"].startswith("checkout.session."):
            return Notification("stripe", raw["id"], raw["type"], None, "ignored")
        return _session_outcome(raw["id"], raw["type"], raw["data"]["object"])

    async def confirm(self, checkout_id: str) -> Notification:
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(checkout_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe could not be asked: {_said(exc)}") from exc
        return _session_outcome(
            f"confirm:{checkout_id}", "checkout.session.read", session.to_dict()
        )

    async def refund(
        self, payment_id: str, amount_cents: int, currency: str, *, refund_id: uuid.UUID
    ) -> str:
        return await _stripe_refund(self._client, payment_id, amount_cents, refund_id)

    async def check(self) -> str:
        """Ask Stripe something only a valid key may know (the account's balance)."""
        try:
            balance = await self._client.v1.balance.retrieve_async()
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused the key: {_said(exc)}") from exc
        return f"Stripe answered ({'test' if not balance.livemode else 'live'} mode)"

    async def charge_saved(
        self, customer_id: str, amount_cents: int, currency: str, *, top_up_id: uuid.UUID
    ) -> Notification:
        """Charge the customer's saved card off-session (auto-recharge); idempotent on the
        top-up, so asking again after a crash charges once."""
        checkout_id = automatic_checkout(top_up_id)
        try:
            methods = await self._client.v1.payment_methods.list_async(
                {"customer": customer_id, "type": "card"}
            )
            if not methods.data:
                return _declined(checkout_id, "No card is saved any more")
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "payment_method": methods.data[0].id,
                    "off_session": True,
                    "confirm": True,
                    "metadata": {"topUpId": str(top_up_id)},
                },
                {"idempotency_key": f"auto-top-up-{top_up_id}"},
            )
        except stripe.CardError as exc:
            return _declined(checkout_id, _said(exc))
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe could not charge the card: {_said(exc)}") from exc
        if intent.status != "succeeded":
            return _declined(checkout_id, f"The card payment is {intent.status}")
        return Notification(
            provider="stripe",
            event_id=f"charge:{intent.id}",
            event_type="payment_intent.read",
            checkout_id=checkout_id,
            outcome="paid",
            payment_id=intent.id,
            amount_cents=intent.amount,
            currency=intent.currency.upper(),
        )


async def _stripe_refund(
    client: stripe.StripeClient, payment_id: str, amount_cents: int, refund_id: uuid.UUID
) -> str:
    try:
        refund = await client.v1.refunds.create_async(
            {
                "payment_intent": payment_id,
                "amount": amount_cents,
                "metadata": {"refundId": str(refund_id)},
            },
            {"idempotency_key": f"refund-{refund_id}"},
        )
    except stripe.StripeError as exc:
        raise ProviderRefused(f"Stripe refused the refund: {_said(exc)}") from exc
    return refund.id


def _declined(checkout_id: str, reason: str) -> Notification:
    return Notification(
        "stripe",
        f"declined:{checkout_id}",
        "payment_intent.read",
        checkout_id,
        "failed",
        reason=reason,
    )


def _session_outcome(event_id: str, event_type: str, data: dict[str, Any]) -> Notification:
    outcome: Outcome = "ignored"
    if data["status"] == "complete" and data["payment_status"] in ("paid", "no_payment_required"):
        outcome = "paid"
    elif data["status"] == "expired":
        outcome = "expired"
    elif event_type == "checkout.session.async_payment_failed":
        outcome = "failed"
    payment_intent = data.get("payment_intent")
    return Notification(
        provider="stripe",
        event_id=event_id,
        event_type=event_type,
        checkout_id=data["id"],
        outcome=outcome,
        payment_id=payment_intent if isinstance(payment_intent, str) else None,
        amount_cents=data.get("amount_total"),
        currency=(data.get("currency") or "").upper() or None,
        reason="The payment failed" if outcome == "failed" else None,
        customer_id=data.get("customer"),
    )


def _said(exc: stripe.StripeError) -> str:
    return exc.user_message or str(exc) or type(exc).__name__
