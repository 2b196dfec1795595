"""The Stripe stand-in through the real `stripe` library, with a loopback webhook receiver that
verifies every signature the way SkyPanel's endpoint does (`stripe.Webhook.construct_event`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx
import pytest
import stripe
from localstripe import resources, webhooks  # type: ignore[import-untyped]
from stripe.params.checkout import SessionCreateParams

from skypanel.standins import _stripe_checkout
from skypanel.standins.stripe import CheckoutError, RunningStripe, running_stripe

SUCCESS_URL = "https://panel.test/wallet/topup/done?session={CHECKOUT_SESSION_ID}"


class Receiver:
    """A webhook endpoint on loopback: answers 200 to a valid signature, 400 otherwise, and keeps
    the raw deliveries so tests can re-check them."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[stripe.Event] = []
        self.deliveries: list[tuple[str, str]] = []
        self.rejected = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                signature = self.headers.get("Stripe-Signature", "")
                try:
                    event = stripe.Webhook.construct_event(body, signature, receiver.secret)
                except stripe.SignatureVerificationError:
                    status = 400
                    with receiver._changed:
                        receiver.rejected += 1
                else:
                    status = 200
                    with receiver._changed:
                        receiver.events.append(event)
                        receiver.deliveries.append((body, signature))
                        receiver._changed.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 5) -> list[stripe.Event]:
        """The first `count` verified events of `event_type`, waiting for them to arrive."""

        def arrived() -> list[stripe.Event]:
            return [event for event in self.events if event.type == event_type]

        with self._changed:
            self._changed.wait_for(lambda: len(arrived()) >= count, timeout)
            events = arrived()
        assert len(events) >= count, f"{event_type}: {[e.type for e in self.events]}"
        return events

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def standin() -> Iterator[RunningStripe]:
    with running_stripe() as running:
        yield running


@pytest.fixture
def receiver(standin: RunningStripe) -> Iterator[Receiver]:
    receiver = Receiver(standin.webhook_secret)
    standin.register_webhook(receiver.url)
    yield receiver
    receiver.close()


@pytest.fixture
def client(standin: RunningStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        standin.secret_key, base_addresses={"api": standin.base_url}, max_network_retries=0
    )


def create_session(client: stripe.StripeClient, **extra: Any) -> stripe.checkout.Session:
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1250,
                    "product_data": {"name": "Wallet top-up"},
                },
                "quantity": 2,
            }
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": "https://panel.test/wallet",
        "client_reference_id": "org_42",
        "metadata": {"topup_id": "17"},
        "customer_email": "ada@example.com",
        "payment_intent_data": {"metadata": {"topup_id": "17", "kind": "topup"}},
        **extra,
    }
    return client.v1.checkout.sessions.create(params=cast(SessionCreateParams, params))


def test_a_session_is_open_unpaid_and_backed_by_a_payment_intent(
    standin: RunningStripe, client: stripe.StripeClient
) -> None:
    session = create_session(client)

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{standin.base_url}/checkout/pay/{session.id}"
    assert (session.amount_total, session.currency) == (2500, "usd")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.client_reference_id == "org_42"
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"topup_id": "17"}
    assert session.success_url == SUCCESS_URL
    assert session.expires_at == session.created + 24 * 3600
    assert session.livemode is False
    assert isinstance(session.payment_intent, str)
    intent = client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.amount, intent.currency) == (2500, "usd")
    assert intent.status == "requires_payment_method"
    assert intent.metadata.to_dict() == {"topup_id": "17", "kind": "topup"}
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(item.description, item.quantity, item.amount_total) for item in items.data] == [
        ("Wallet top-up", 2, 2500)
    ]


def test_paying_completes_the_session_and_signs_the_webhooks(
    standin: RunningStripe, receiver: Receiver, client: stripe.StripeClient
) -> None:
    session = create_session(client)

    redirect = standin.pay(session.id)

    assert redirect == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    (completed,) = receiver.wait_for("checkout.session.completed")
    assert completed.id.startswith("evt_")
    assert completed.livemode is False
    assert completed.data.object["id"] == session.id
    assert completed.data.object["payment_status"] == "paid"
    assert completed.data.object["metadata"].to_dict() == {"topup_id": "17"}
    (succeeded,) = receiver.wait_for("payment_intent.succeeded")
    assert succeeded.data.object["id"] == session.payment_intent
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert isinstance(paid.payment_intent, stripe.PaymentIntent)
    assert paid.payment_intent.status == "succeeded"
    assert [event["type"] for event in standin.events()] == [
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    with pytest.raises(CheckoutError) as again:
        standin.pay(session.id)
    assert again.value.status == 409


def test_the_hosted_page_shows_the_amount_and_pays_by_form(
    standin: RunningStripe, client: stripe.StripeClient
) -> None:
    session = create_session(client)
    assert session.url is not None

    page = httpx.get(session.url)
    mistyped = httpx.post(session.url, data={"card": "4242"})
    declined = httpx.post(session.url, data={"card": "4000 0000 0000 0002"})
    paid = httpx.post(session.url, data={"card": "4242 4242 4242 4242"})
    gone = httpx.get(session.url)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "25.00 USD" in page.text
    assert "Wallet top-up" in page.text
    assert 'href="https://panel.test/wallet"' in page.text
    assert mistyped.status_code == 400
    assert "Your card number is invalid." in mistyped.text
    assert declined.status_code == 402
    assert "Your card was declined." in declined.text
    assert paid.status_code == 303
    assert paid.headers["location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert gone.status_code == 409
    assert httpx.get(f"{standin.base_url}/checkout/pay/cs_test_nope").status_code == 404


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000000000000002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
    ],
)
def test_a_declined_card_leaves_the_session_open_and_unpaid(
    standin: RunningStripe, receiver: Receiver, client: stripe.StripeClient, card: str, message: str
) -> None:
    session = create_session(client)

    with pytest.raises(CheckoutError) as declined:
        standin.pay(session.id, card)

    assert (declined.value.status, declined.value.message) == (402, message)
    (failed,) = receiver.wait_for("payment_intent.payment_failed")
    assert failed.data.object["last_payment_error"]["message"] == message
    unpaid = client.v1.checkout.sessions.retrieve(session.id)
    assert (unpaid.status, unpaid.payment_status) == ("open", "unpaid")
    assert isinstance(session.payment_intent, str)
    intent = client.v1.payment_intents.retrieve(session.payment_intent)
    assert intent.status == "requires_payment_method"
    assert "checkout.session.completed" not in [e["type"] for e in standin.events()]
    # The payer may try another card, as on Stripe.
    standin.pay(session.id)
    assert client.v1.payment_intents.retrieve(session.payment_intent).status == "succeeded"


def test_expiring_closes_the_session(
    standin: RunningStripe, receiver: Receiver, client: stripe.StripeClient
) -> None:
    session = create_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.payment_status, expired.url) == ("expired", "unpaid", None)
    (event,) = receiver.wait_for("checkout.session.expired")
    assert event.data.object["id"] == session.id
    with pytest.raises(CheckoutError) as paying:
        standin.pay(session.id)
    assert paying.value.status == 409
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.checkout.sessions.expire(session.id)
    assert again.value.http_status == 400


def test_a_session_expires_once_its_expires_at_has_passed(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = create_session(client, expires_at=int(time.time()) + 3600)

    monkeypatch.setattr(_stripe_checkout, "_now", lambda: session.expires_at)

    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_redeliver_sends_the_same_event_freshly_signed(
    standin: RunningStripe, receiver: Receiver
) -> None:
    client = stripe.StripeClient(standin.secret_key, base_addresses={"api": standin.base_url})
    standin.pay(create_session(client).id)
    (completed,) = receiver.wait_for("checkout.session.completed")

    statuses = standin.redeliver(completed.id, times=2)

    assert statuses == [200, 200]
    events = receiver.wait_for("checkout.session.completed", count=3)
    assert [event.id for event in events] == [completed.id] * 3
    assert len({body for body, _ in receiver.deliveries if completed.id in body}) == 1
    assert receiver.rejected == 0
    with pytest.raises(LookupError):
        standin.redeliver("evt_unknown")


def test_a_wrong_secret_fails_verification(
    standin: RunningStripe, receiver: Receiver, client: stripe.StripeClient
) -> None:
    standin.pay(create_session(client).id)
    receiver.wait_for("checkout.session.completed")
    body, signature = receiver.deliveries[-1]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_not_the_secret")
    receiver.secret = "whsec_not_the_secret"
    event_id = receiver.events[-1].id
    assert standin.redeliver(event_id) == [400]
    assert receiver.rejected == 1


def test_refunding_the_payment_intent_emits_refund_events(
    standin: RunningStripe, receiver: Receiver, client: stripe.StripeClient
) -> None:
    session = create_session(client)
    standin.pay(session.id)
    assert isinstance(session.payment_intent, str)

    refund = client.v1.refunds.create(params={"payment_intent": session.payment_intent})

    assert (refund.status, refund.amount, refund.currency) == ("succeeded", 2500, "usd")
    (refunded,) = receiver.wait_for("charge.refunded")
    assert refunded.data.object["payment_intent"] == session.payment_intent
    assert refunded.data.object["refunded"] is True
    assert refunded.data.object["amount_refunded"] == 2500
    (created,) = receiver.wait_for("refund.created")
    assert created.data.object["id"] == refund.id


def test_errors_have_stripes_shape(standin: RunningStripe, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    with pytest.raises(stripe.InvalidRequestError) as no_items:
        client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": SUCCESS_URL})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        create_session(client, shipping_options=[{"shipping_rate": "shr_1"}])
    anonymous = httpx.post(f"{standin.base_url}/v1/checkout/sessions", data={"mode": "payment"})

    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert (no_items.value.http_status, no_items.value.param) == (400, "line_items")
    assert unknown.value.param == "shipping_options"
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "invalid_request_error"


def test_only_one_standin_runs_per_process(standin: RunningStripe) -> None:
    with pytest.raises(RuntimeError), running_stripe():
        pass


def test_leaving_undoes_the_patches_to_localstripe() -> None:
    with running_stripe():
        assert resources.schedule_webhook is not webhooks.schedule_webhook

    assert resources.schedule_webhook is webhooks.schedule_webhook
    assert "_charging_is_declined" in vars(resources.PaymentMethod)
    assert "_api_create" not in vars(resources.Refund)
    assert "dump_to_disk" not in vars(resources.store)
