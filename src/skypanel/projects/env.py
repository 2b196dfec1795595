"""Where a project's variables are kept: sealed in its row, bound to it."""

from __future__ import annotations

import uuid

from skypanel.kit import envvars
from skypanel.kit.crypto import SecretPlace
from skypanel.models import ContainerProject


def env_place(project_id: uuid.UUID) -> SecretPlace:
    return SecretPlace("container_projects", "env_encrypted", str(project_id))


def project_env(project: ContainerProject) -> dict[str, str]:
    return envvars.unseal(project.env_encrypted, env_place(project.id))
