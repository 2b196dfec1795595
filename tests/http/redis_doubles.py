"""Redis as tests need it: the real one (db 15), one that hangs, one that is gone, and a switch
between a hang and the real one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

REAL = os.environ.get("SKYPANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def real_redis_url() -> str:
    """The test Redis, or a skip (a failure with CI=true) when it does not answer."""
    connection = aioredis.from_url(REAL)
    try:
        await connection.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REAL} is not reachable ({exc}); CI needs it")
        pytest.skip(f"Redis at {REAL} is not reachable; set SKYPANEL_TEST_REDIS_URL to run this")
    finally:
        await connection.aclose()
    return REAL


class Switch:
    """A loopback Redis that accepts connections and never answers while `up` is False (a hang)
    and forwards them to the real Redis while it is True. Counts the connections it accepted."""

    def __init__(self, target: str = REAL) -> None:
        self.up = False
        self.connections = 0
        self._target = target
        self._server: asyncio.Server | None = None
        self._open: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/15"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)

    async def close(self) -> None:
        for writer in self._open:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.append(writer)
        if not self.up:
            with contextlib.suppress(OSError):
                while await reader.read(4096):
                    pass
            return
        target = aioredis.from_url(self._target).connection_pool.connection_kwargs
        upstream_reader, upstream_writer = await asyncio.open_connection(
            target["host"], target["port"]
        )
        self._open.append(upstream_writer)
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while data := await source.read(65536):
        sink.write(data)
        await sink.drain()
    sink.close()


@contextlib.asynccontextmanager
async def switch() -> AsyncIterator[Switch]:
    running = Switch()
    await running.start()
    try:
        yield running
    finally:
        await running.close()


def closed_port_url() -> str:
    """A loopback port nobody listens on (an outage: connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/15"
