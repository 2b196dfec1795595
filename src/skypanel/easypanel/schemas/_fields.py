"""Nested objects of service inputs: resources, deploy, maintenance, sources, builds, domains."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from skypanel.easypanel.schemas._base import AbsolutePath, Input, Name, NonEmpty


class Resources(Input):
    """Memory in MB, CPU in cores (0.5 = half a core); 0 means unlimited / no reservation."""

    cpu_limit: float = Field(ge=0)
    cpu_reservation: float = Field(ge=0)
    memory_limit: float = Field(ge=0)
    memory_reservation: float = Field(ge=0)


class ResourcesPatch(Input):
    """The resource fields to change; the client fills the rest from the service."""

    cpu_limit: float | None = Field(default=None, ge=0)
    cpu_reservation: float | None = Field(default=None, ge=0)
    memory_limit: float | None = Field(default=None, ge=0)
    memory_reservation: float | None = Field(default=None, ge=0)


class DeploySettings(Input):
    nullable: ClassVar[frozenset[str]] = frozenset({"command"})

    replicas: int = Field(default=1, ge=0)
    command: str | None = None
    zero_downtime: bool = True
    cap_add: list[str] | None = None
    cap_drop: list[str] | None = None
    groups: list[str] | None = None
    sysctls: dict[str, str] | None = None
    tini_init: bool | None = None


class DeployPatch(Input):
    """Deploy fields to change. `command=None` given explicitly clears the command."""

    nullable: ClassVar[frozenset[str]] = frozenset({"command"})

    replicas: int | None = Field(default=None, ge=0)
    command: str | None = None
    zero_downtime: bool | None = None
    cap_add: list[str] | None = None
    cap_drop: list[str] | None = None
    groups: list[str] | None = None
    sysctls: dict[str, str] | None = None
    tini_init: bool | None = None


class Maintenance(Input):
    enabled: bool
    title: str | None = None
    subtitle: str | None = None
    custom_logo: str | None = None
    custom_css: str | None = None
    hide_logo: bool | None = None
    hide_links: bool | None = None


class ImageSource(Input):
    type: Literal["image"] = "image"
    image: NonEmpty
    username: str | None = None
    password: str | None = None


class GithubSource(Input):
    type: Literal["github"] = "github"
    owner: NonEmpty
    repo: NonEmpty
    ref: NonEmpty
    path: AbsolutePath = "/"
    auto_deploy: bool = False


class GitSource(Input):
    type: Literal["git"] = "git"
    repo: NonEmpty
    ref: NonEmpty
    path: AbsolutePath = "/"


class DockerfileSource(Input):
    """Inline Dockerfile content (2.23 and later in createService)."""

    type: Literal["dockerfile"] = "dockerfile"
    dockerfile: NonEmpty


class UploadSource(Input):
    type: Literal["upload"] = "upload"


AppSource = Annotated[
    ImageSource | GithubSource | GitSource | DockerfileSource | UploadSource,
    Field(discriminator="type"),
]


class DockerfileBuild(Input):
    type: Literal["dockerfile"] = "dockerfile"
    file: str | None = None


class BuildpacksBuild(Input):
    type: Literal["buildpacks"] = "buildpacks"
    buildpacks_builder: str | None = None


class NixpacksBuild(Input):
    type: Literal["nixpacks"] = "nixpacks"
    nixpacks_version: str | None = None
    install_command: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    nix_packages: str | None = None
    apt_packages: str | None = None


class HerokuBuildpacksBuild(Input):
    type: Literal["heroku-buildpacks"] = "heroku-buildpacks"


class PaketoBuildpacksBuild(Input):
    type: Literal["paketo-buildpacks"] = "paketo-buildpacks"


class RailpackBuild(Input):
    """2.32 and later; 2.2x servers refuse it."""

    type: Literal["railpack"] = "railpack"
    railpack_version: str | None = None
    install_command: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    build_apt_packages: str | None = None
    deploy_apt_packages: str | None = None
    mise_packages: str | None = None


AppBuild = Annotated[
    DockerfileBuild
    | BuildpacksBuild
    | HerokuBuildpacksBuild
    | PaketoBuildpacksBuild
    | NixpacksBuild
    | RailpackBuild,
    Field(discriminator="type"),
]


class DomainSpec(Input):
    """A domain given inline to createService or a template (not the `domains.*` record)."""

    host: Annotated[str, StringConstraints(pattern=r"^[^\s*]+$")]
    https: bool = True
    port: int = Field(default=80, ge=1, le=65535)
    path: AbsolutePath = "/"
    middlewares: list[str] | None = None
    certificate_resolver: str | None = None
    wildcard: bool = False
    internal_protocol: Literal["http", "https"] = "http"
    service: str | None = None


class BindMount(Input):
    type: Literal["bind"] = "bind"
    host_path: NonEmpty
    mount_path: NonEmpty


class VolumeMount(Input):
    type: Literal["volume"] = "volume"
    name: Name
    mount_path: NonEmpty


class FileMount(Input):
    type: Literal["file"] = "file"
    content: str
    mount_path: NonEmpty


Mount = Annotated[BindMount | VolumeMount | FileMount, Field(discriminator="type")]


class PortSpec(Input):
    published: int = Field(ge=0, le=65535)
    target: int = Field(ge=0, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class BasicAuthEntry(Input):
    username: str
    password: str


class ToolAccess(Input):
    """A side tool of a database (dbGate, pgWeb, phpMyAdmin, mongoExpress, redisCommander)."""

    enabled: bool = False
    token: str | None = None
