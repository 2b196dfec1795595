"""Running a stand-in: `running_paypal` serves one on a free loopback port in a daemon thread
and hands the test a `RunningPayPal` (its address, credentials and levers); `main` is the
`python -m skypanel.standins.paypal` command, serving in the foreground."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from skypanel.standins.paypal._app import create_paypal_app
from skypanel.standins.paypal._model import Json
from skypanel.standins.paypal._state import PayPalStandin


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
    from skypanel.standins import paypal  # the package's overview heads --help

    doc = paypal.__doc__
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
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
