"""The template format (stored in `container_templates.template_schema`) and the API models.

A template declares `inputs` (what the user fills in) and `services` (apps and databases). Strings
of an app (image, command, env values, domain hosts) may hold placeholders, filled at render time:

* `${name}`: the value of the input `name`;
* `${services.<key>.<attr>}`: another service of the template, where `attr` is `name` or `host`
  (its internal hostname) for every service, and for databases also `port`, `password`, `user`
  (not redis) and `database` (postgres, mysql, mariadb).

Easypanel's own `$(PRIMARY_DOMAIN)`, `$(PROJECT_NAME)`, ... pass through untouched.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Discriminator, Field, StringConstraints, Tag, model_validator

from skypanel.kit.schema import ApiModel, InputModel

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")
DatabaseType = Literal["postgres", "mysql", "mariadb", "mongo", "redis"]
DATABASE_PORTS: dict[str, int] = {
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mongo": 27017,
    "redis": 6379,
}
DEFAULT_USERS = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mariadb", "mongo": "mongo"}
WITH_DATABASE = frozenset({"postgres", "mysql", "mariadb"})

ServiceKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,19}$")]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
DbIdentifier = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$")]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]


class Generate(InputModel):
    """A random value for an input left empty: letters and digits, or hexadecimal."""

    kind: Literal["password", "hex"] = "password"
    length: int = Field(default=24, ge=8, le=128)


class InputField(InputModel):
    name: InputName
    label: str = Field(min_length=1, max_length=200)
    type: Literal["string", "password", "number", "boolean", "select"] = "string"
    default: str | int | float | bool | None = None
    required: bool = False
    pattern: str | None = Field(default=None, max_length=500)
    options: list[str] | None = Field(default=None, min_length=1, max_length=100)
    secret: bool = False
    generate: Generate | None = None
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.type == "select" and not self.options:
            raise ValueError("a select input needs options")
        if self.options and self.default is not None and str(self.default) not in self.options:
            raise ValueError("the default is not one of the options")
        if self.generate and self.type not in ("string", "password"):
            raise ValueError("only string and password inputs can be generated")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid pattern: {exc}") from exc
        return self

    @property
    def is_secret(self) -> bool:
        return self.secret or self.type == "password" or self.generate is not None


class Limits(InputModel):
    """Declared limits, counted against the organization's quota."""

    cpu_cores: Decimal = Field(default=Decimal("0.5"), gt=0, le=64, decimal_places=2)
    memory_gb: Decimal = Field(default=Decimal("0.5"), gt=0, le=512, decimal_places=2)
    storage_gb: Decimal = Field(default=Decimal("1"), gt=0, le=10_000, decimal_places=2)


class DomainBlueprint(InputModel):
    """A public domain: by default the one Easypanel generates for the service."""

    host: str = Field(default="$(EASYPANEL_DOMAIN)", min_length=1, max_length=253)
    port: int = Field(default=80, ge=1, le=65535)
    https: bool = True
    path: str = Field(default="/", pattern=r"^/")


class PortBlueprint(InputModel):
    published: int = Field(ge=1024, le=65535)
    target: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class VolumeBlueprint(InputModel):
    """A named volume: the only kind of mount a template may have."""

    type: Literal["volume"] = "volume"
    name: ServiceKey
    mount_path: str = Field(pattern=r"^/[^\s]*$", max_length=500)


class AppBlueprint(InputModel):
    name: ServiceKey
    type: Literal["app"] = "app"
    image: str = Field(min_length=1, max_length=500)
    command: str | None = Field(default=None, max_length=5000)
    env: dict[str, str] = Field(default_factory=dict)
    domains: list[DomainBlueprint] = Field(default_factory=list, max_length=10)
    ports: list[PortBlueprint] = Field(default_factory=list, max_length=10)
    mounts: list[VolumeBlueprint] = Field(default_factory=list, max_length=10)
    resources: Limits = Field(default_factory=Limits)

    def texts(self) -> list[str]:
        """Every string that may hold placeholders."""
        return [self.image, self.command or "", *self.env.values(), *(d.host for d in self.domains)]

    def attributes(self) -> frozenset[str]:
        """What `${services.<key>.<attr>}` may name."""
        return frozenset({"name", "host"})


class DatabaseBlueprint(InputModel):
    name: ServiceKey
    type: DatabaseType
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    database: DbIdentifier | None = None
    user: DbIdentifier | None = None
    resources: Limits = Field(default_factory=Limits)

    def texts(self) -> list[str]:
        return []

    def attributes(self) -> frozenset[str]:
        names = {"name", "host", "port", "password"}
        names |= {"user"} if self.type in DEFAULT_USERS else set()
        return frozenset(names | ({"database"} if self.type in WITH_DATABASE else set()))


def _kind(value: Any) -> str:
    """Services without a `type` are apps."""
    kind = value.get("type", "app") if isinstance(value, dict) else getattr(value, "type", "")
    return "app" if kind == "app" else "database"


ServiceBlueprint = Annotated[
    Annotated[AppBlueprint, Tag("app")] | Annotated[DatabaseBlueprint, Tag("database")],
    Discriminator(_kind),
]


class Blueprint(InputModel):
    """A whole template: the inputs it asks for and the services it creates."""

    inputs: list[InputField] = Field(default_factory=list, max_length=50)
    services: list[ServiceBlueprint] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        inputs = [field.name for field in self.inputs]
        keys = [service.name for service in self.services]
        for label, names in (("input", inputs), ("service", keys)):
            if len(set(names)) != len(names):
                raise ValueError(f"each {label} name must be unique")
        known = set(inputs) | {
            f"services.{s.name}.{attr}" for s in self.services for attr in s.attributes()
        }
        for service in self.services:
            unknown = sorted({m for t in service.texts() for m in PLACEHOLDER.findall(t)} - known)
            if unknown:
                raise ValueError(f"{service.name} refers to unknown values: {', '.join(unknown)}")
        return self

    def stored(self) -> dict[str, Any]:
        """The normalised JSON kept in the database."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data


class TemplateOut(ApiModel):
    id: uuid.UUID
    template_name: str
    display_name: str
    description: str | None
    category: str | None
    logo_url: str | None
    template_schema: dict[str, Any]
    enabled: bool
    display_order: int
    builtin: bool
    created_at: datetime
    updated_at: datetime


Text = Field(default=None, max_length=5000)
Category = Field(default=None, min_length=1, max_length=100)
LogoUrl = Field(default=None, max_length=500, pattern=r"^https?://[^\s]+$")
Order = Field(default=None, ge=0, le=100_000)
MAX_SCHEMA_DEPTH = 12
"""A template nests services, their lists and their settings: a dozen levels is plenty."""


def _depth(value: object, level: int = 0) -> int:
    if level > MAX_SCHEMA_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_SCHEMA_DEPTH} levels")
    return schema


TemplateSchema = Annotated[dict[str, Any], AfterValidator(_shallow)]


class TemplateIn(InputModel):
    template_name: TemplateName
    display_name: str = Field(min_length=1, max_length=255)
    description: str | None = Text
    category: str | None = Category
    logo_url: str | None = LogoUrl
    template_schema: TemplateSchema
    enabled: bool = True
    display_order: int = Field(default=0, ge=0, le=100_000)


class TemplateUpdate(InputModel):
    """Every field optional; only the fields sent change. The name never changes."""

    display_name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Text
    category: str | None = Category
    logo_url: str | None = LogoUrl
    template_schema: TemplateSchema | None = None
    enabled: bool | None = None
    display_order: int | None = Order
