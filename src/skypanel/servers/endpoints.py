from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.servers import fleet, readings, repository, service
from skypanel.servers.schemas import (
    FleetServerIn,
    FleetServerOut,
    FleetServerUpdate,
    ServerIn,
    ServerOut,
    TestIn,
    TestOut,
)

router = APIRouter(prefix="/api/containers/admin/config", tags=["easypanel"])


@router.get("", response_model=ServerOut, responses=responses(401, 403))
async def get_config(_: AdminUser, session: Session) -> ServerOut:
    """The Easypanel connection. The API key is never returned, only its last 4 characters."""
    return service.view(await repository.default_server(session))


@router.post("", response_model=ServerOut, responses=responses(401, 403, 422))
async def save_config(body: ServerIn, admin: AdminUser, session: Session) -> ServerOut:
    """Save the connection after testing it; a failing test saves nothing unless `force`."""
    url = service.normalise_url(str(body.api_url))
    result = await service.probe(url, body.api_key, body.dialect)
    if not result.ok and not body.force:
        raise service.ConnectionFailed(
            f"Connection test failed: {result.error_message or result.error_code}",
            test=service.result_out(result).model_dump(by_alias=True),
        )
    server = await service.save(
        session, admin, url=url, api_key=body.api_key, dialect=body.dialect, result=result
    )
    return service.view(server)


@router.post("/test", response_model=TestOut, responses=responses(401, 403, 404, 422))
async def check_connection(
    admin: AdminUser, session: Session, body: TestIn | None = None
) -> TestOut:
    """Test the given settings, or the saved connection (and remember the outcome)."""
    if body is not None and body.api_url is not None and body.api_key is not None:
        url = service.normalise_url(str(body.api_url))
        return service.result_out(await service.probe(url, body.api_key, body.dialect))
    server = await repository.default_server(session)
    if server is None:
        raise service.NotConfigured("No Easypanel server is configured yet")
    result = await service.probe_saved(server)
    locked = await repository.default_server(session, lock=True)
    if locked is not None and locked.id == server.id:
        service.remember_test(locked, result)
    return service.result_out(result)


fleet_router = APIRouter(prefix="/api/containers/admin/servers", tags=["easypanel"])


def _refuse_failed(reading: readings.Reading, force: bool) -> None:
    if not reading.result.ok and not force:
        result = reading.result
        raise service.ConnectionFailed(
            f"Connection test failed: {result.error_message or result.error_code}",
            test=service.result_out(result).model_dump(by_alias=True),
        )


@fleet_router.get("", response_model=list[FleetServerOut], responses=responses(401, 403))
async def list_servers(_: AdminUser, session: Session) -> list[FleetServerOut]:
    """Every server not removed: state, capacity, reservations, real use and customers."""
    return await fleet.views(session, await repository.in_service(session))


@fleet_router.post(
    "",
    response_model=FleetServerOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 422),
)
async def add_server(body: FleetServerIn, admin: AdminUser, session: Session) -> FleetServerOut:
    """Add a server after testing it (a failing test saves nothing unless `force`). Capacity
    left out is read from the server."""
    url = service.normalise_url(str(body.api_url))
    reading = await readings.probe(url, body.api_key, body.dialect)
    _refuse_failed(reading, body.force)
    server = await fleet.create(session, admin, body, url, reading)
    return (await fleet.views(session, [server]))[0]


@fleet_router.put(
    "/{server_id}", response_model=FleetServerOut, responses=responses(401, 403, 404, 409, 422)
)
async def update_server(
    server_id: uuid.UUID, body: FleetServerUpdate, admin: AdminUser, session: Session
) -> FleetServerOut:
    """Change a server; a new URL, key or dialect is tested first (unless `force`)."""
    server = await fleet.get(session, server_id)
    url = service.normalise_url(str(body.api_url)) if body.api_url is not None else None
    reading = None
    moved = url not in (None, server.api_url)
    if moved or body.api_key is not None or body.dialect not in (None, server.dialect):
        reading = await readings.probe(
            url or server.api_url,
            body.api_key or readings.saved_key(server),
            body.dialect or server.dialect,
        )
        _refuse_failed(reading, body.force)
    updated = await fleet.update(session, admin, server_id, body, url, reading)
    return (await fleet.views(session, [updated]))[0]


@fleet_router.delete(
    "/{server_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409),
)
async def remove_server(server_id: uuid.UUID, admin: AdminUser, session: Session) -> None:
    """Remove a server that hosts no live subscription (409 says how many it still hosts)."""
    await fleet.retire(session, admin, server_id)


@fleet_router.post(
    "/{server_id}/test", response_model=FleetServerOut, responses=responses(401, 403, 404)
)
async def test_server(server_id: uuid.UUID, admin: AdminUser, session: Session) -> FleetServerOut:
    """Test the saved connection now, refresh the reported capacity and use, and show them."""
    reading = await readings.probe_saved(await fleet.get(session, server_id))
    server = await fleet.get(session, server_id, lock=True)
    readings.remember(server, reading)
    await session.flush()
    return (await fleet.views(session, [server]))[0]


@fleet_router.post(
    "/{server_id}/drain", response_model=FleetServerOut, responses=responses(401, 403, 404)
)
async def drain_server(server_id: uuid.UUID, admin: AdminUser, session: Session) -> FleetServerOut:
    """Stop placing new subscriptions on the server; its customers stay."""
    server = await fleet.drain(session, admin, server_id)
    return (await fleet.views(session, [server]))[0]
