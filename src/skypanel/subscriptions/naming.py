"""Every name SkyPanel gives a thing on Easypanel is built here.

Project and service names are lowercase letters, digits and hyphens, never `_`: Easypanel names a
service's Swarm service `<project>_<service>`, so with no `_` in either part that name tells its
project and service apart, and two tenants can never meet on it. Each organization's projects
live under its own namespace (`<organization-slug>-<project>`); when a name on the server is held
by someone else, the project moves to `-2`, `-3`, ...
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.errors import InvalidInput
from skypanel.models import ContainerProject

MAX_EASYPANEL_NAME = 60
SWARM_NAME_LIMIT = 63
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


class InvalidName(InvalidInput):
    code = "INVALID_NAME"


def check_name(value: str, field: str) -> str:
    """A project or service name as the customer typed it, refused when Easypanel could read it
    as part of another name."""
    if not NAME.fullmatch(value):
        raise InvalidName(
            f"{field} may contain only lowercase letters, digits and hyphens (no underscores),"
            " and must start and end with a letter or digit",
            field=field,
        )
    return value


def sanitise(text: str, limit: int = 40) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return name or "project"


def easypanel_project_name(namespace: str, project_name: str) -> str:
    """`acme-web` for project `web` of organization `acme`; `acme` for the project `acme`."""
    base = namespace if project_name == namespace else f"{namespace}-{project_name}"
    return sanitise(base, MAX_EASYPANEL_NAME - 3)


def swarm_name(easypanel_project: str, easypanel_service: str) -> str:
    """The Swarm service name Easypanel derives (contract §1.4); unique per server."""
    if "_" in easypanel_project or "_" in easypanel_service:
        raise InvalidName("Easypanel names never contain underscores", field="serviceName")
    name = f"{easypanel_project}_{easypanel_service}"
    if len(name) > SWARM_NAME_LIMIT:
        raise InvalidInput(
            "The project and service names are too long together", field="serviceName"
        )
    return name


def candidates(base: str, count: int = 9) -> list[str]:
    """The name, then `-2`, `-3`, ... for collisions with projects SkyPanel does not own."""
    return [base, *(f"{base}-{n}" for n in range(2, count + 1))]


async def free_candidate(session: AsyncSession, server_id: uuid.UUID, base: str) -> str:
    """The first candidate no project of ours on this server uses yet."""
    taken = set(
        await session.scalars(
            select(ContainerProject.easypanel_project_name).where(
                ContainerProject.server_id == server_id,
                ContainerProject.easypanel_project_name.startswith(base, autoescape=True),
            )
        )
    )
    return next(name for name in candidates(base, 999) if name not in taken)
