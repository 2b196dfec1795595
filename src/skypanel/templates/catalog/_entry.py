from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TIMEZONE = {
    "name": "timezone",
    "label": "Time zone",
    "default": "UTC",
    "pattern": r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$",
    "description": "An IANA time zone, such as Europe/Paris.",
}


@dataclass(frozen=True)
class CatalogEntry:
    """A built-in template as shipped; `schema` is in the stored (camelCase) format."""

    template_name: str
    display_name: str
    description: str
    category: str
    display_order: int
    template_schema: dict[str, Any]


def limits(cpu: str, memory: str, storage: str) -> dict[str, str]:
    """Declared limits: CPU cores, memory GB and storage GB, as decimal strings."""
    return {"cpuCores": cpu, "memoryGb": memory, "storageGb": storage}


def database(name: str, kind: str, version: str, **extra: Any) -> dict[str, Any]:
    """A database service with modest default limits."""
    return {
        "name": name,
        "type": kind,
        "version": version,
        "resources": limits("0.5", "1", "5"),
        **extra,
    }


def app(
    name: str,
    image: str,
    *,
    resources: dict[str, str],
    port: int | None = None,
    env: dict[str, str] | None = None,
    volumes: dict[str, str] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """An app from an image, on Easypanel's generated domain when it has a `port`."""
    service: dict[str, Any] = {"name": name, "image": image, "env": env or {}}
    if command:
        service["command"] = command
    if port:
        service["domains"] = [{"port": port}]
    if volumes:
        service["mounts"] = [{"name": key, "mountPath": path} for key, path in volumes.items()]
    return service | {"resources": resources}
