"""Where a service's variables and credentials are kept: sealed in its row, bound to it."""

from __future__ import annotations

import uuid

from skypanel.kit import envvars
from skypanel.kit.crypto import SecretPlace
from skypanel.models import ContainerService


def env_place(service_id: uuid.UUID) -> SecretPlace:
    return SecretPlace("container_services", "env_encrypted", str(service_id))


def credentials_place(service_id: uuid.UUID) -> SecretPlace:
    return SecretPlace("container_services", "credentials_encrypted", str(service_id))


def service_env(service: ContainerService) -> dict[str, str]:
    return envvars.unseal(service.env_encrypted, env_place(service.id))


def service_credentials(service: ContainerService) -> dict[str, str]:
    return envvars.unseal(service.credentials_encrypted, credentials_place(service.id))


def declared_secrets(service: ContainerService) -> frozenset[str]:
    return frozenset(service.configuration.get("secretKeys", []))


def secret_values(service: ContainerService) -> list[str]:
    """What must never show in its logs: its secret variables' values and its credentials."""
    hidden = envvars.secret_values(service_env(service), declared_secrets(service))
    return hidden + [v for v in service_credentials(service).values() if len(v) >= 4]
