"""Start, stop and destroy one service with the verbs its type has on Easypanel.

Apps have start/stop; databases have enable/disable (and answer 404 to start/stop, contract §2.4).
Destroying something already gone counts as done.
"""

from __future__ import annotations

from skypanel.easypanel._procedures import DATABASE_TYPES, DatabaseType
from skypanel.easypanel.client import EasypanelClient
from skypanel.easypanel.errors import EasypanelNotFound


def database_kind(service_type: str) -> DatabaseType | None:
    return next((kind for kind in DATABASE_TYPES if kind == service_type), None)


async def stop(client: EasypanelClient, service_type: str, project: str, service: str) -> None:
    kind = database_kind(service_type)
    if kind is None:
        await client.stop_app(project, service)
    else:
        await client.disable_database(kind, project, service)


async def start(client: EasypanelClient, service_type: str, project: str, service: str) -> None:
    kind = database_kind(service_type)
    if kind is None:
        await client.start_app(project, service)
    else:
        await client.enable_database(kind, project, service)


async def destroy(client: EasypanelClient, service_type: str, project: str, service: str) -> bool:
    """True when this call removed it; False when it was already gone."""
    kind = database_kind(service_type)
    try:
        if kind is None:
            await client.destroy_app(project, service)
        else:
            await client.destroy_database(kind, project, service)
    except EasypanelNotFound:
        return False
    return True


async def restart(client: EasypanelClient, service_type: str, project: str, service: str) -> None:
    kind = database_kind(service_type)
    if kind is None:
        await client.restart_app(project, service)
    else:
        await client.disable_database(kind, project, service)
        await client.enable_database(kind, project, service)
