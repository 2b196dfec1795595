"""A panel whose DNS lookups go to a local authoritative server (`dns`), and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.config import Settings
from tests.conftest import _app, _client
from tests.dns import DnsServer, dns_server


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with dns_server() as running:
        yield running


@pytest.fixture
async def client(
    settings: Settings,
    engine: AsyncEngine,
    db: async_sessionmaker[AsyncSession],
    dns: DnsServer,
) -> AsyncIterator[httpx.AsyncClient]:
    resolving = settings.model_copy(update={"dns_nameservers": dns.nameservers})
    async with _client(resolving, engine, db) as http:
        yield http
        await _app(http).state.clients.aclose()
