"""A whole world loaded in one go: projects and their services, built by the same code as
`createProject` and `createService` and already running, as if every deploy had finished.
For benchmarks and integration tests that need thousands of services (one request, not one per
service).

    {"projects": [{"name": "acme", "services": [
        {"type": "app", "serviceName": "web", "source": {"type": "image", "image": "nginx"}},
        {"type": "postgres", "serviceName": "db", "running": false},
        {"type": "app", "serviceName": "root", "edit": {"deploy": {"privileged": true}}}]}]}

A service entry is the `createService` input of its type (without `projectName`), plus
`running` (default true; false: its tasks are stopped) and `edit` (settings changed afterwards,
merged key by key as `EmulatorController.edit_service` does). Bad input raises `EmulatorError`
naming the entry; nothing is added then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from skypanel.easypanel import DATABASE_TYPES, DatabaseType
from skypanel.easypanel.schemas import DATABASE_CREATE_INPUTS, CreateAppInput, DatabaseSpec
from skypanel.emulator._h_databases import add_database
from skypanel.emulator._h_services import add_app, check_build
from skypanel.emulator._state import Runtime, State
from skypanel.emulator._world import EmulatorError, World

Merge = Callable[[dict[str, Any], Mapping[str, Any]], None]
_INPUTS: dict[str, type[BaseModel]] = {"app": CreateAppInput, **DATABASE_CREATE_INPUTS}
_OWN_KEYS = ("type", "running", "edit")


def load(world: World, seed: Mapping[str, Any], merge: Merge) -> int:
    """Add the seed's projects and services to the world (under its lock); returns how many
    services were added."""
    projects, entries = _entries(world, seed)
    now, first = world.clock.now(), len(world.state.actions)
    for project in projects:
        world.state.projects[project] = {"name": project, "createdAt": world.now_iso()}
        world.state.access[project] = []
    for project, kind, body, entry in entries:
        if isinstance(body, CreateAppInput):
            service = add_app(world, project, body)
        else:
            service = add_database(
                world, project, cast(DatabaseType, kind), cast(DatabaseSpec, body)
            )
        runtime = world.state.runtime[State.key(project, service["name"])]
        _finish(runtime, now, running=bool(entry.get("running", True)))
        if "edit" in entry:
            merge(service, entry["edit"])
    for action in world.state.actions[first:]:
        if action["status"] == "pending":
            action["status"], action["_due"] = "done", None
            action["_log"] += "Service updated.\nDone.\n"
    return len(entries)


def _entries(
    world: World, seed: Any
) -> tuple[list[str], list[tuple[str, str, BaseModel, Mapping[str, Any]]]]:
    """The project names and every service entry, validated before anything is added."""
    projects = seed.get("projects") if isinstance(seed, Mapping) else None
    if not isinstance(projects, list):
        raise EmulatorError("seed: projects must be a list")
    found: list[tuple[str, str, BaseModel, Mapping[str, Any]]] = []
    names: set[tuple[str, str]] = set()
    seen: dict[str, None] = {}
    for index, project in enumerate(projects):
        name = project.get("name") if isinstance(project, Mapping) else None
        if not isinstance(name, str) or name in world.state.projects or name in seen:
            raise EmulatorError(f"seed: projects.{index}.name is missing or already exists")
        seen[name] = None
        for number, entry in enumerate(project.get("services", [])):
            where = f"projects.{index}.services.{number}"
            kind = entry.get("type") if isinstance(entry, Mapping) else None
            if kind not in _INPUTS:
                raise EmulatorError(f"seed: {where}.type must be app or {DATABASE_TYPES}")
            raw = {k: v for k, v in entry.items() if k not in _OWN_KEYS} | {"projectName": name}
            try:
                body = _INPUTS[kind].model_validate(raw, strict=True, by_alias=True, by_name=False)
            except ValidationError as exc:
                raise EmulatorError(f"seed: {where} is not a valid {kind}: {exc}") from exc
            check_build(world, raw.get("build"))
            service = (name, raw.get("serviceName", ""))
            if service in names:
                raise EmulatorError(f"seed: {where}.serviceName is used twice in {name}")
            names.add(service)
            found.append((name, kind, body, entry))
    return list(seen), found


def _finish(runtime: Runtime, now: float, *, running: bool) -> None:
    """Tasks up since `now` (the deploy over), or stopped."""
    runtime.actual = runtime.desired if running else 0
    runtime.desired = runtime.actual
    runtime.converge_at = None
    runtime.running_since = now if running else None
