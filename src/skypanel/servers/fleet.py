"""The fleet of Easypanel servers: add, edit, test, drain and retire; what each one holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.models import EasypanelServer, User
from skypanel.servers import repository
from skypanel.servers.clients import api_key_place
from skypanel.servers.readings import Reading, remember
from skypanel.servers.repository import Reserved
from skypanel.servers.schemas import (
    CallStats,
    Dialect,
    FleetServerIn,
    FleetServerOut,
    FleetServerUpdate,
    Resources,
    ServerState,
)

CAPACITY_FIELDS = ("capacity_cpus", "capacity_memory_gb", "capacity_storage_gb")
CALLS_WINDOW = timedelta(hours=1)


class ServerNotFound(NotFound):
    code = "SERVER_NOT_FOUND"


class ServerNameTaken(Conflict):
    code = "SERVER_NAME_TAKEN"


class ServerInUse(Conflict):
    code = "SERVER_IN_USE"


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def view(server: EasypanelServer, reserved: Reserved, calls: CallStats) -> FleetServerOut:
    used_cpus = (
        server.capacity_cpus * server.used_cpu_percent / 100
        if server.capacity_cpus is not None and server.used_cpu_percent is not None
        else None
    )
    return FleetServerOut(
        id=server.id,
        name=server.name,
        api_url=server.api_url,
        api_key_last4=server.api_key_last4,
        dialect=cast(Dialect, server.dialect),
        region=server.region,
        state=cast(ServerState, server.state),
        is_default=server.is_default,
        capacity=Resources(
            cpus=_number(server.capacity_cpus),
            memory_gb=_number(server.capacity_memory_gb),
            storage_gb=_number(server.capacity_storage_gb),
        ),
        capacity_source=cast(Literal["manual", "reported"], server.capacity_source),
        overcommit_ratio=float(server.overcommit_ratio),
        reserved=Resources(
            cpus=float(reserved.cpus),
            memory_gb=float(reserved.memory_gb),
            storage_gb=float(reserved.storage_gb),
        ),
        used=Resources(
            cpus=_number(used_cpus),
            memory_gb=_number(server.used_memory_gb),
            storage_gb=_number(server.used_storage_gb),
        ),
        used_cpu_percent=_number(server.used_cpu_percent),
        subscriptions=reserved.subscriptions,
        connection_status=server.connection_status,
        last_error=server.last_error,
        latency_ms=server.latency_ms,
        consecutive_failures=server.consecutive_failures,
        last_seen_at=server.last_seen_at,
        last_connection_test=server.last_connection_test,
        server_version=server.server_version,
        calls_last_hour=calls,
    )


async def views(session: AsyncSession, servers: Sequence[EasypanelServer]) -> list[FleetServerOut]:
    reserved = await repository.reservations(session)
    calls = await repository.call_stats(session, clock.now() - CALLS_WINDOW)
    return [
        view(server, reserved.get(server.id, Reserved()), calls.get(server.id, CallStats()))
        for server in servers
    ]


async def get(
    session: AsyncSession, server_id: uuid.UUID, *, lock: bool = False
) -> EasypanelServer:
    server = await repository.get(session, server_id, lock=lock)
    if server is None or server.state == "retired":
        raise ServerNotFound("No such Easypanel server", serverId=str(server_id))
    return server


def _capacity(data: FleetServerIn | FleetServerUpdate) -> dict[str, Decimal] | None:
    """The capacity set by hand: all three fields, or none of them."""
    given = {name: getattr(data, name) for name in CAPACITY_FIELDS if getattr(data, name)}
    if given and len(given) < len(CAPACITY_FIELDS):
        missing = next(name for name in CAPACITY_FIELDS if name not in given)
        field = "".join(p.capitalize() if i else p for i, p in enumerate(missing.split("_")))
        raise InvalidInput(
            "Set vCPU, memory and storage capacity together, or none to read them from the server",
            field=field,
        )
    return given or None


async def _check_name(
    session: AsyncSession, name: str, other_than: uuid.UUID | None = None
) -> None:
    if await repository.name_taken(session, name, other_than=other_than):
        raise ServerNameTaken(f"A server named {name!r} already exists", field="name")


async def create(
    session: AsyncSession, admin: User, data: FleetServerIn, url: str, reading: Reading
) -> EasypanelServer:
    """Add a server; the first one also becomes the default (the config routes' server)."""
    await _check_name(session, data.name)
    manual = _capacity(data)
    first = await repository.default_server(session, lock=True) is None
    server = EasypanelServer(
        id=uuid.uuid4(),
        name=data.name,
        api_url=url,
        api_key_last4=data.api_key[-4:],
        dialect=data.dialect,
        region=data.region,
        state="active",
        active=True,
        is_default=first,
        capacity_source="manual" if manual else "reported",
        overcommit_ratio=data.overcommit_ratio,
        consecutive_failures=0,
        **(manual or {}),
    )
    server.api_key_encrypted = encrypt_secret(data.api_key, api_key_place(server.id))
    remember(server, reading)
    session.add(server)
    await session.flush()
    await _log(session, admin, server, "create", f"Easypanel server {server.name} added")
    return server


async def update(
    session: AsyncSession,
    admin: User,
    server_id: uuid.UUID,
    data: FleetServerUpdate,
    url: str | None,
    reading: Reading | None,
) -> EasypanelServer:
    server = await get(session, server_id, lock=True)
    changes = data.model_dump(
        exclude_unset=True, exclude_none=True, exclude={"api_key", "force"}, mode="json"
    )
    if data.name is not None:
        await _check_name(session, data.name, server.id)
        server.name = data.name
    if url is not None:
        server.api_url = url
    if data.api_key is not None:
        server.api_key_encrypted = encrypt_secret(data.api_key, api_key_place(server.id))
        server.api_key_last4 = data.api_key[-4:]
        changes["api_key"] = "changed"
    for field in ("dialect", "region", "overcommit_ratio"):
        if getattr(data, field) is not None:
            setattr(server, field, getattr(data, field))
    manual = _capacity(data)
    source = data.capacity_source or ("manual" if manual else None)
    if source == "manual":
        for field, value in (manual or {}).items():
            setattr(server, field, value)
        if any(getattr(server, field) is None for field in CAPACITY_FIELDS):
            raise InvalidInput(
                "Set the three capacity fields to size the server by hand", field="capacitySource"
            )
    if source is not None:
        server.capacity_source = source
    if data.state is not None and data.state != server.state:
        server.state = data.state
    if reading is not None:
        remember(server, reading)
    await session.flush()
    await _log(session, admin, server, "update", f"Easypanel server {server.name} updated", changes)
    return server


async def drain(session: AsyncSession, admin: User, server_id: uuid.UUID) -> EasypanelServer:
    """Keep the server's customers, place no new ones on it."""
    server = await get(session, server_id, lock=True)
    server.state = "draining"
    await session.flush()
    await _log(session, admin, server, "drain", f"Easypanel server {server.name} is draining")
    return server


async def retire(session: AsyncSession, admin: User, server_id: uuid.UUID) -> None:
    """Remove a server that hosts no live subscription (its history stays, hidden)."""
    server = await get(session, server_id, lock=True)
    hosted = (await repository.reservations(session)).get(server.id, Reserved()).subscriptions
    if hosted:
        raise ServerInUse(
            f"The server still hosts {hosted} subscription{'s' if hosted != 1 else ''};"
            " drain it and wait until they are gone before removing it",
            subscriptions=hosted,
        )
    server.state = "retired"
    server.active = False
    if server.is_default:
        server.is_default = False
        await session.flush()
        successor = await session.scalar(
            select(EasypanelServer)
            .where(EasypanelServer.state != "retired", EasypanelServer.id != server.id)
            .order_by(EasypanelServer.created_at)
            .limit(1)
            .with_for_update()
        )
        if successor is not None:
            successor.is_default = True
    await session.flush()
    await _log(session, admin, server, "retire", f"Easypanel server {server.name} removed")


async def _log(
    session: AsyncSession,
    admin: User | None,
    server: EasypanelServer,
    verb: str,
    message: str,
    changes: dict[str, Any] | None = None,
) -> None:
    await record(
        session,
        f"easypanel.server.{verb}",
        message,
        user_id=admin.id if admin else None,
        entity_type="easypanel_config",
        entity_id=server.id,
        metadata={"name": server.name, "region": server.region, "state": server.state}
        | ({"changes": changes} if changes else {}),
        status="warning" if server.state == "down" else "success",
    )
