"""Easypanel names: `^[a-z0-9-_]+$`, each organization's projects under its own namespace."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import ContainerProject

MAX_EASYPANEL_NAME = 60


def sanitise(text: str, limit: int = 40) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:limit].strip("-_")
    return name or "project"


def easypanel_project_name(namespace: str, project_name: str) -> str:
    """`acme-web` for project `web` of organization `acme`; `acme` for the project `acme`."""
    base = namespace if project_name == namespace else f"{namespace}-{project_name}"
    return sanitise(base, MAX_EASYPANEL_NAME - 3)


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
