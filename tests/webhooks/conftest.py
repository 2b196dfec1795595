"""A webhook receiver on loopback that keeps every request, and the app allowing private
addresses for the tests that deliver to it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI

from skypanel.config import Settings


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """Answers 500 to the first `failures` attempts of each `webhook-id`, then 200."""

    port: int
    failures: int = 0
    requests: list[Received] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hooks"

    def accepted(self) -> list[Received]:
        return [request for request in self.requests if request.answered == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            with state.lock:
                message_id = self.headers["webhook-id"]
                state.seen[message_id] += 1
                answer = 500 if state.seen[message_id] <= state.failures else 200
                state.requests.append(Received(dict(self.headers.items()), body, answer))
            self.send_response(answer)
            self.end_headers()
            self.wfile.write(b"ok" if answer == 200 else b"receiver is down")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _app(http: httpx.AsyncClient) -> FastAPI:
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    assert isinstance(transport.app, FastAPI)
    return transport.app


@pytest.fixture
def private_allowed(client: httpx.AsyncClient, settings: Settings) -> Settings:
    """Allow private addresses in the app (for registration) and for `deliver_due`."""
    allowed = settings.model_copy(update={"webhooks_allow_private": True})
    _app(client).state.settings = allowed
    return allowed
