"""auth.*, users.*, projects.* and cluster.* handlers."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from skypanel.easypanel import swarm_name
from skypanel.easypanel.schemas import (
    CreateUserInput,
    DockerContainersInput,
    Email,
    IdInput,
    Input,
    ProjectNameInput,
    ProjectRef,
    UpdateAccessInput,
    UpdateProjectEnvInput,
    UpdateUserInput,
)
from skypanel.emulator._registry import procedure
from skypanel.emulator._state import new_id
from skypanel.emulator._world import EmulatorError, World, public


class LoginInput(Input):
    email: Email
    password: str
    code: str | None = None
    remember_me: bool | None = None


@procedure("auth.login", LoginInput)
def login(world: World, body: LoginInput) -> Any:
    """A session token for the administrator (the emulator's only password holder)."""
    expected = world.settings.admin_password
    if not expected or body.email != world.admin["email"] or body.password != expected:
        raise EmulatorError("Invalid email or password")
    token = secrets.token_urlsafe(32)
    world.sessions.add(token)
    return {"token": token}


@procedure("auth.getUser")
def get_user(world: World, _: None) -> Any:
    return dict(world.admin)


@procedure("users.listUsers")
def list_users(world: World, _: None) -> Any:
    return [dict(user) for user in world.state.users.values()]


@procedure("users.createUser", CreateUserInput)
def create_user(world: World, body: CreateUserInput) -> Any:
    if any(u["email"] == body.email for u in world.state.users.values()):
        raise EmulatorError("User already exists")
    user: dict[str, Any] = {
        "id": new_id(),
        "email": body.email,
        "admin": body.admin,
        "createdAt": world.now_iso(),
    }
    world.state.users[user["id"]] = user
    return dict(user)


def _user(world: World, user_id: str) -> dict[str, Any]:
    user = world.state.users.get(user_id)
    if user is None:
        raise EmulatorError("User not found")
    return user


@procedure("users.updateUser", UpdateUserInput, void=True)
def update_user(world: World, body: UpdateUserInput) -> None:
    _user(world, body.id)["admin"] = body.admin


@procedure("users.destroyUser", IdInput, void=True)
def destroy_user(world: World, body: IdInput) -> None:
    _user(world, body.id)
    del world.state.users[body.id]
    for members in world.state.access.values():
        if body.id in members:
            members.remove(body.id)


@procedure("projects.listProjects")
def list_projects(world: World, _: None) -> Any:
    return [dict(p) for p in world.state.projects.values()]


@procedure("projects.listProjectsAndServices")
def list_projects_and_services(world: World, _: None) -> Any:
    return {
        "projects": [dict(p) for p in world.state.projects.values()],
        "services": [public(s) for s in world.state.services.values()],
    }


@procedure("projects.inspectProject", ProjectRef)
def inspect_project(world: World, body: ProjectRef) -> Any:
    project = world.project(body.project_name)
    services = world.state.project_services(body.project_name)
    return {"project": dict(project), "services": [public(s) for s in services]}


@procedure("projects.createProject", ProjectNameInput)
def create_project(world: World, body: ProjectNameInput) -> Any:
    if body.name in world.state.projects:
        raise EmulatorError("Project already exists")
    project = {"name": body.name, "createdAt": world.now_iso()}
    world.state.projects[body.name] = project
    world.state.access[body.name] = []
    return dict(project)


@procedure("projects.destroyProject", ProjectNameInput, void=True)
def destroy_project(world: World, body: ProjectNameInput) -> None:
    world.project(body.name)
    for service in world.state.project_services(body.name):
        world.remove_service(body.name, service["name"])
    del world.state.projects[body.name]
    world.state.access.pop(body.name, None)


@procedure("projects.updateProjectEnv", UpdateProjectEnvInput, void=True)
def update_project_env(world: World, body: UpdateProjectEnvInput) -> None:
    world.project(body.project_name)["env"] = body.env or ""


@procedure("projects.updateAccess", UpdateAccessInput, void=True)
def update_access(world: World, body: UpdateAccessInput) -> None:
    world.project(body.project_name)
    _user(world, body.user_id)
    members = world.state.access.setdefault(body.project_name, [])
    if body.active and body.user_id not in members:
        members.append(body.user_id)
    elif not body.active and body.user_id in members:
        members.remove(body.user_id)


@procedure("projects.getDockerContainers", DockerContainersInput)
def get_docker_containers(world: World, body: DockerContainersInput) -> Any:
    project, _, name = body.service.partition("_")
    service = world.state.services.get(f"{project}/{name}")
    if service is None:
        return []
    runtime = world.runtime(project, name)
    image = (service.get("source") or {}).get("image") or service.get("image") or "easypanel/app"
    since = runtime.running_since or world.clock.now()
    up = int(world.clock.now() - since)
    return [
        {
            "Id": _digest(f"{body.service}.{slot}.{since}"),
            "Names": [f"/{swarm_name(project, name)}.{slot}.{_digest(body.service)[:25]}"],
            "Image": image,
            "Command": service.get("deploy", {}).get("command") or "",
            "Created": int(since),
            "State": "running",
            "Status": f"Up {up} seconds",
            "Labels": {"com.docker.swarm.service.name": body.service},
            "Ports": [],
            "Mounts": [],
        }
        for slot in range(1, runtime.actual + 1)
    ]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@procedure("cluster.listNodes")
def list_nodes(world: World, _: None) -> Any:
    """The one manager node, in Docker's shape (contract §2.9)."""
    settings = world.settings
    return [
        {
            "ID": f"node{settings.instance_id}",
            "Version": {"Index": 1},
            "CreatedAt": world.admin["createdAt"],
            "UpdatedAt": world.admin["createdAt"],
            "Spec": {"Role": "manager", "Availability": "active", "Labels": {}},
            "Description": {
                "Hostname": f"easypanel-{settings.instance_id}",
                "Platform": {"Architecture": "x86_64", "OS": "linux"},
                "Resources": {
                    "NanoCPUs": settings.cpus * 1_000_000_000,
                    "MemoryBytes": settings.memory_mb * 1024 * 1024,
                },
                "Engine": {"EngineVersion": "27.3.1"},
            },
            "Status": {"State": "ready", "Addr": "127.0.0.1"},
            "ManagerStatus": {
                "Leader": True,
                "Reachability": "reachable",
                "Addr": "127.0.0.1:2377",
            },
        }
    ]
