from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from skypanel.kit.schema import ApiModel, InputModel
from skypanel.operations.schemas import OperationRef
from skypanel.services.schemas import Image

BuildType = Literal[
    "dockerfile", "buildpacks", "heroku-buildpacks", "paketo-buildpacks", "nixpacks", "railpack"
]
Setting = Annotated[str, Field(min_length=1, max_length=1000)]
BUILD_FIELDS: dict[str, frozenset[str]] = {
    "dockerfile": frozenset({"file"}),
    "buildpacks": frozenset({"buildpacks_builder"}),
    "heroku-buildpacks": frozenset(),
    "paketo-buildpacks": frozenset(),
    "nixpacks": frozenset(
        {
            "nixpacks_version",
            "install_command",
            "build_command",
            "start_command",
            "nix_packages",
            "apt_packages",
        }
    ),
    "railpack": frozenset(
        {
            "railpack_version",
            "install_command",
            "build_command",
            "start_command",
            "build_apt_packages",
            "deploy_apt_packages",
            "mise_packages",
        }
    ),
}
"""The settings each build type takes (as the Easypanel 2.32.2 schema lists them)."""


class DeploymentOut(ApiModel):
    id: uuid.UUID
    trigger: str
    actor_user_id: uuid.UUID | None
    image: str | None
    commit: str | None
    easypanel_action_id: str | None
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    operation: OperationRef | None = None


class DeploymentLogOut(ApiModel):
    id: uuid.UUID
    status: str
    live: bool
    """True while the deploy runs: the log is read from Easypanel and grows; read it again."""
    log: str


class RedeployIn(InputModel):
    image: Image | None = None
    """A new image (usually a new tag, `nginx:1.28`) for an image-sourced app; omitted: the same."""


class BuildIn(InputModel):
    type: BuildType
    file: Setting | None = None
    buildpacks_builder: Setting | None = None
    nixpacks_version: Setting | None = None
    railpack_version: Setting | None = None
    install_command: Setting | None = None
    build_command: Setting | None = None
    start_command: Setting | None = None
    nix_packages: Setting | None = None
    apt_packages: Setting | None = None
    build_apt_packages: Setting | None = None
    deploy_apt_packages: Setting | None = None
    mise_packages: Setting | None = None

    @model_validator(mode="after")
    def _fits_the_type(self) -> BuildIn:
        given = {name for name in self.model_fields_set if name != "type"}
        for name in sorted(given - BUILD_FIELDS[self.type]):
            if getattr(self, name) is not None:
                field = type(self).model_fields[name].alias or name
                raise ValueError(f"{field} is not a setting of {self.type} builds")
        return self


class BuildOut(ApiModel):
    build: dict[str, str] | None
    """The build settings as Easypanel takes them (camelCase keys); None: Easypanel's default."""
    operation: OperationRef | None = None


class AutoDeployIn(InputModel):
    enabled: bool


class DeployHookOut(ApiModel):
    url: str
    """POST to it (no login: the token in it is the secret) to deploy the app; shown only now."""


class HookDeployOut(ApiModel):
    deployment_id: uuid.UUID
    status: str
