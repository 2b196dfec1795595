"""What a server says when tested: the connection test, then its size and use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from skypanel.easypanel import ConnectionResult, EasypanelClient, EasypanelError
from skypanel.easypanel.schemas import ServerCapacity
from skypanel.kit import clock
from skypanel.kit.crypto import decrypt_secret
from skypanel.models import EasypanelServer
from skypanel.servers.clients import api_key_place
from skypanel.servers.service import probe_client, remember_test, saved_probe_client

GB = Decimal(1024**3)


@dataclass(frozen=True, slots=True)
class Reading:
    """A connection test and, when it passed, what the server reports of its size and use."""

    result: ConnectionResult
    capacity: ServerCapacity | None = None


async def read(client: EasypanelClient) -> Reading:
    result = await client.test_connection()
    if not result.ok:
        return Reading(result)
    try:
        capacity = await client.get_capacity()
        if capacity.cpus is None or capacity.memory_total_bytes is None:
            nodes = await client.list_nodes()
            capacity = capacity.model_copy(
                update={
                    "cpus": capacity.cpus or sum(n.cpus or 0 for n in nodes) or None,
                    "memory_total_bytes": capacity.memory_total_bytes
                    or sum(n.memory_bytes or 0 for n in nodes)
                    or None,
                }
            )
    except EasypanelError:
        return Reading(result)
    return Reading(result, capacity)


async def probe(url: str, api_key: str, dialect: str) -> Reading:
    async with probe_client(url, api_key, dialect) as client:
        return await read(client)


async def probe_saved(server: EasypanelServer) -> Reading:
    async with saved_probe_client(server) as client:
        return await read(client)


def saved_key(server: EasypanelServer) -> str:
    return decrypt_secret(server.api_key_encrypted, api_key_place(server.id))


def remember(server: EasypanelServer, reading: Reading) -> None:
    """Keep a test's outcome; a reported size replaces the last one unless set by hand."""
    remember_test(server, reading.result)
    if not reading.result.ok:
        return
    server.last_seen_at = clock.now()
    found = reading.capacity
    if found is None:
        return
    server.used_cpu_percent = _decimal(found.cpu_percent)
    server.used_memory_gb = _gigabytes(found.memory_used_bytes)
    server.used_storage_gb = _gigabytes(found.disk_used_bytes)
    if server.capacity_source == "reported":
        server.capacity_cpus = _decimal(found.cpus)
        server.capacity_memory_gb = _gigabytes(found.memory_total_bytes)
        server.capacity_storage_gb = _gigabytes(found.disk_total_bytes)


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else round(Decimal(str(value)), 2)


def _gigabytes(value: int | None) -> Decimal | None:
    return None if value is None else round(Decimal(value) / GB, 2)
