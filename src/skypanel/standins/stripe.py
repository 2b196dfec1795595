"""A stateful Stripe stand-in over HTTP: localstripe plus Checkout Sessions and a hosted page.

No payment provider is reachable from the machines SkyPanel is tested and demonstrated on, so the
tests, `make run` and users' own setups point SKYPANEL_STRIPE_API_BASE here instead:

    with running_stripe(webhook_url="http://127.0.0.1:8000/webhooks/stripe") as stripe_:
        client = stripe.StripeClient(stripe_.secret_key, base_addresses={"api": stripe_.base_url})
        session = client.v1.checkout.sessions.create(params={...})
        stripe_.pay(session.id)       # what the hosted page's Pay button does

localstripe (https://github.com/adrienverge/localstripe) serves customers, payment intents,
charges, refunds and events; this module adds what SkyPanel also needs:

- `/v1/checkout/sessions` (mode=payment with `price_data` line items), backed by a real
  localstripe PaymentIntent, and the hosted page `/checkout/pay/{id}` that pays or cancels it;
- one webhook path for every event, localstripe's and ours: recorded in order, delivered in the
  background, freshly signed on each attempt, and re-deliverable on demand for replay tests;
- the decline test cards Stripe declines when charging (4000000000000002, 4000000000009995);
  localstripe declines them only when a card is attached to a customer;
- `charge.refunded` and `refund.created` events, which localstripe does not emit.

localstripe keeps its state in module globals, so **one stand-in runs per process at a time**; it
starts from an empty, memory-only store (localstripe's pickle in /tmp is switched off, so no
state leaks between runs or processes) and its patches are undone when the block ends.

`python -m skypanel.standins.stripe --port 8420` serves it in the foreground.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import logging
import secrets
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import aiohttp
from aiohttp import web
from localstripe import resources as ls_resources  # type: ignore[import-untyped]
from localstripe import webhooks as ls_webhooks

from skypanel.standins._stripe_checkout import Checkout, CheckoutError
from skypanel.standins._stripe_page import checkout_page, message_page

with warnings.catch_warnings():
    # localstripe's module-level app registers plain functions, which aiohttp flags on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import server as ls_server

__all__ = ["CheckoutError", "RunningStripe", "main", "running_stripe"]

log = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")

# Stripe declines these at charge time; localstripe only when attaching them to a customer.
_DECLINED_CARDS = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
}
_DELIVERY_TIMEOUT = aiohttp.ClientTimeout(total=10)
_CALL_TIMEOUT = 30.0
_running = threading.Lock()


@dataclass(frozen=True)
class RunningStripe:
    """A running stand-in. Methods may be called from any thread; they run on the server's loop."""

    base_url: str
    secret_key: str
    webhook_secret: str
    _hub: _Hub = field(repr=False, compare=False)

    def register_webhook(self, url: str) -> None:
        """Send every event to `url`, signed with `webhook_secret`, through localstripe's own
        `/_config/webhooks` (registering the same url twice keeps one endpoint)."""
        endpoint = hashlib.sha256(url.encode()).hexdigest()[:16]
        body = urllib.parse.urlencode({"url": url, "secret": self.webhook_secret}).encode()
        request = urllib.request.Request(f"{self.base_url}/_config/webhooks/{endpoint}", body)
        with urllib.request.urlopen(request, timeout=_CALL_TIMEOUT):
            pass

    def events(self) -> list[JSON]:
        """Every event emitted since the start, oldest first, as delivered."""
        return self._hub.call(lambda: copy.deepcopy(self._hub.events))

    def redeliver(self, event_id: str, times: int = 1) -> list[int]:
        """Deliver an emitted event again `times` times, freshly signed, and return once the
        endpoints answered: one HTTP status per delivery (0 when the endpoint was unreachable)."""
        event = self._hub.call(lambda: self._hub.find_event(event_id))
        statuses: list[int] = []
        for _ in range(times):
            statuses += self._hub.await_(self._hub.deliver(event))
        return statuses

    def pay(self, session_id: str, card: str = "4242424242424242") -> str:
        """Submit the hosted page's form with `card`; return the URL the payer is redirected to
        (the session's success_url). Raises CheckoutError with the page's status and message
        (400 invalid number, 402 declined, 404 unknown, 409 expired or already paid)."""
        return self._hub.call(lambda: self._hub.checkout.pay(session_id, card))


class _Hub:
    """The server's side: the aiohttp app, the event log and webhook delivery, on one loop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.events: list[JSON] = []
        self.checkout = Checkout(base_url, self.emit)
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._outbox: asyncio.Queue[JSON] | None = None
        self._courier: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the server's loop, where all of localstripe's state is touched."""

        async def run() -> T:
            return function()

        return self.await_(run())

    def await_(self, awaitable: Awaitable[T]) -> T:
        async def run() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(_CALL_TIMEOUT)

    async def start(self, sock: socket.socket) -> None:
        self._outbox = asyncio.Queue()
        self._http = aiohttp.ClientSession(timeout=_DELIVERY_TIMEOUT)
        self._courier = asyncio.create_task(self._deliver_in_order())
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving; deliveries still queued are dropped, as a stopped Stripe would."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._courier is not None:
            self._courier.cancel()
            with suppress(asyncio.CancelledError):
                await self._courier
        if self._http is not None:
            await self._http.close()

    def emit(self, event: Any) -> None:
        """Record a localstripe `Event` and queue its delivery; replaces localstripe's own
        `schedule_webhook`, which signs with the creation time and so cannot redeliver."""
        payload = cast(JSON, event._export())
        self.events.append(payload)
        assert self._outbox is not None, "the stand-in emits only while serving"
        self._outbox.put_nowait(payload)

    def find_event(self, event_id: str) -> JSON:
        for event in self.events:
            if event["id"] == event_id:
                return event
        raise LookupError(f"no event {event_id!r} was emitted")

    async def deliver(self, event: JSON) -> list[int]:
        """POST the event to each endpoint that wants it, signed as Stripe signs
        (`t=<now>,v1=<hex HMAC-SHA256 of "t.payload">`); one status per endpoint, 0 if down."""
        assert self._http is not None
        body = json.dumps(event, indent=2, sort_keys=True)
        statuses = []
        for endpoint in list(ls_webhooks._webhooks.values()):
            if endpoint.events is not None and event["type"] not in endpoint.events:
                continue
            stamp = int(time.time())
            mac = hmac.new(endpoint.secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}",
            }
            try:
                async with self._http.post(endpoint.url, data=body, headers=headers) as response:
                    statuses.append(response.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning(
                    "stripe stand-in: %s to %s failed: %s", event["type"], endpoint.url, error
                )
                statuses.append(0)
        return statuses

    async def _deliver_in_order(self) -> None:
        """One courier, so endpoints receive events in the order they happened."""
        assert self._outbox is not None
        while True:
            await self.deliver(await self._outbox.get())

    def _app(self) -> web.Application:
        """localstripe's routes and middlewares on a fresh app (an aiohttp app serves only
        once), without its save-to-disk middleware, plus the Checkout routes."""
        app = web.Application(middlewares=[ls_server.error_middleware, _auth_middleware])
        app.on_response_prepare.append(ls_server.add_cors_headers)
        checkout = self.checkout
        app.router.add_post("/v1/checkout/sessions", _api(checkout.create))
        app.router.add_get("/v1/checkout/sessions/{id}", _api(checkout.retrieve))
        app.router.add_get("/v1/checkout/sessions/{id}/line_items", _api(checkout.line_items))
        app.router.add_post("/v1/checkout/sessions/{id}/expire", _api(checkout.expire))
        app.router.add_get("/checkout/pay/{id}", self._page)
        app.router.add_post("/checkout/pay/{id}", self._page)
        for route in ls_server.app.router.routes():
            app.router.add_route(route.method, route.resource.canonical, _awaitable(route.handler))
        return app

    async def _page(self, request: web.Request) -> web.StreamResponse:
        """The hosted page: GET shows the form, POST pays and redirects to success_url."""
        session_id = request.match_info["id"]
        card = ""
        try:
            if request.method == "POST":
                card = str((await request.post()).get("card", ""))
                raise web.HTTPSeeOther(self.checkout.pay(session_id, card))
            session, items = self.checkout.payable(session_id)
            return _html(checkout_page(session, items))
        except CheckoutError as error:
            if error.status in (400, 402):  # a bad or declined card: the payer may try again
                session, items = self.checkout.payable(session_id)
                page = checkout_page(session, items, error=error.message, card=card)
                return _html(page, error.status)
            return _html(message_page("Checkout unavailable", error.message), error.status)


def _api(operation: Callable[[str | None, JSON], JSON]) -> Callable[..., Awaitable[web.Response]]:
    """A Checkout API route: the session id from the path, form or query parameters decoded as
    localstripe decodes them (`line_items[0][quantity]=1`), Stripe's JSON and error shapes."""

    async def handler(request: web.Request) -> web.Response:
        if request.method == "POST":
            data = await ls_server.get_post_data(request) or {}
        else:
            data = ls_server.unflatten_data(request.query)
        result = operation(request.match_info.get("id"), dict(data))
        return cast(web.Response, ls_server.json_response(result))

    return handler


def _awaitable(handler: Any) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """localstripe's handlers as coroutines, as aiohttp wants them (bare functions deprecated)."""
    if asyncio.iscoroutinefunction(handler):
        return cast(Callable[[web.Request], Awaitable[web.StreamResponse]], handler)

    async def handle(request: web.Request) -> web.StreamResponse:
        return cast(web.StreamResponse, handler(request))

    return handle


@web.middleware
async def _auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """localstripe's API-key check, except on the hosted page, which a browser opens."""
    if request.path.startswith("/checkout/pay/"):
        return await handler(request)
    return cast(web.StreamResponse, await ls_server.auth_middleware(request, handler))


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


def _patch(stack: ExitStack, owner: Any, name: str, value: Any) -> None:
    """Set `owner.name` until the stack closes, then restore exactly what was there."""
    if name in vars(owner):
        stack.callback(setattr, owner, name, vars(owner)[name])
    else:
        stack.callback(delattr, owner, name)
    setattr(owner, name, value)


def _patch_localstripe(stack: ExitStack, hub: _Hub) -> None:
    """The contained changes to localstripe, documented in the module docstring."""
    ls_resources.store.clear()
    _patch(stack, ls_resources.store, "dump_to_disk", lambda: None)
    _patch(stack, ls_webhooks, "_webhooks", {})
    _patch(stack, ls_resources, "schedule_webhook", hub.emit)

    method_class = ls_resources.PaymentMethod
    charging_is_declined = vars(method_class)["_charging_is_declined"]

    def declined(method: Any) -> bool:
        card = getattr(method, "_card_number", None)
        return bool(charging_is_declined(method)) or card in _DECLINED_CARDS

    _patch(stack, method_class, "_charging_is_declined", declined)

    set_auth_failure = vars(ls_resources.Charge)["_set_auth_failure"]

    def fail(charge: Any) -> None:
        set_auth_failure(charge)
        method = method_class._api_retrieve(charge.payment_method)
        card: str = getattr(method, "_card_number", "")
        charge.failure_message = _DECLINED_CARDS.get(card, charge.failure_message)

    _patch(stack, ls_resources.Charge, "_set_auth_failure", fail)

    create_refund = ls_resources.Refund._api_create

    def refund(**data: Any) -> Any:
        created = create_refund(**data)
        hub.emit(ls_resources.Event("refund.created", created))
        charge = ls_resources.Charge._api_retrieve(created.charge)
        hub.emit(ls_resources.Event("charge.refunded", charge))
        return created

    _patch(stack, ls_resources.Refund, "_api_create", staticmethod(refund))


@contextmanager
def running_stripe(*, webhook_url: str | None = None) -> Iterator[RunningStripe]:
    """Serve the stand-in on a free loopback port in a thread with its own event loop, from an
    empty store; `webhook_url`, if given, receives every event. One per process at a time."""
    with _serving(0, webhook_url) as stripe:
        yield stripe


@contextmanager
def _serving(port: int, webhook_url: str | None) -> Iterator[RunningStripe]:
    if not _running.acquire(blocking=False):
        raise RuntimeError("a Stripe stand-in is already running in this process")
    with ExitStack() as stack:
        stack.callback(_running.release)
        sock = socket.socket()
        stack.callback(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        hub = _Hub(f"http://127.0.0.1:{sock.getsockname()[1]}")
        _patch_localstripe(stack, hub)
        thread = threading.Thread(target=hub.loop.run_forever, name="stripe-standin", daemon=True)
        thread.start()
        stack.callback(hub.loop.close)
        stack.callback(thread.join)
        stack.callback(hub.loop.call_soon_threadsafe, hub.loop.stop)
        hub.await_(hub.start(sock))
        stack.callback(lambda: hub.await_(hub.stop()))
        stripe = RunningStripe(
            base_url=hub.base_url,
            secret_key="sk_test_" + secrets.token_hex(16),
            webhook_secret="whsec_" + secrets.token_hex(16),
            _hub=hub,
        )
        if webhook_url is not None:
            stripe.register_webhook(webhook_url)
        yield stripe


def main(argv: list[str] | None = None) -> None:
    """`python -m skypanel.standins.stripe`: serve in the foreground until interrupted, printing
    what a client needs (this is the one place the generated secrets are shown)."""
    parser = argparse.ArgumentParser(description="Serve a Stripe stand-in on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook-url", help="an endpoint that receives every event")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with _serving(args.port, args.webhook_url) as stripe:
        sys.stdout.write(
            f"Stripe stand-in at {stripe.base_url}\n"
            f"SKYPANEL_STRIPE_API_BASE={stripe.base_url}\n"
            f"secret key:     {stripe.secret_key}\n"
            f"webhook secret: {stripe.webhook_secret}\n"
        )
        sys.stdout.flush()
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
