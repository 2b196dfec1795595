"""Render a template with a user's inputs into the services of Easypanel's createFromSchema.

Databases come first (apps refer to them), each with a generated password; every service is
named `<prefix>-<key>` and carries its declared limits for the quota check. The result passes the
safety check before it is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from skypanel.easypanel.schemas import TemplateService, format_env
from skypanel.kit.errors import InvalidInput
from skypanel.models import ContainerTemplate
from skypanel.subscriptions.naming import sanitise
from skypanel.templates.inputs import (
    TemplateInputInvalid,
    field_errors,
    generate,
    resolve_inputs,
)
from skypanel.templates.safety import check_spec, check_template
from skypanel.templates.schemas import (
    DATABASE_PORTS,
    DEFAULT_USERS,
    PLACEHOLDER,
    WITH_DATABASE,
    AppBlueprint,
    Blueprint,
    DatabaseBlueprint,
    Generate,
    Limits,
)

SWARM_NAME_LIMIT = 63
"""Docker Swarm limits `<project>_<service>` to 63 characters."""
SERVICE_NAME_LIMIT = 40

_ENTRY: TypeAdapter[TemplateService] = TypeAdapter(TemplateService)


class TemplateSchemaInvalid(InvalidInput):
    code = "TEMPLATE_SCHEMA_INVALID"


@dataclass(frozen=True)
class RenderedService:
    """One service to create: its Easypanel name, kind and declared limits."""

    name: str
    key: str
    type: str
    cpu_cores: Decimal
    memory_gb: Decimal
    storage_gb: Decimal
    spec: TemplateService
    env: dict[str, str]
    secret_keys: frozenset[str]
    credentials: dict[str, str]


@dataclass(frozen=True)
class RenderedTemplate:
    services: list[RenderedService]
    inputs: dict[str, str]
    secrets: dict[str, str]
    """Generated and secret values by reference (`inputs.adminPassword`, `services.db.password`)."""

    @property
    def specs(self) -> list[TemplateService]:
        """What to pass to `EasypanelClient.create_from_schema`."""
        return [service.spec for service in self.services]

    @property
    def secret_values(self) -> list[str]:
        """The values to redact from logs and responses."""
        return sorted(set(self.secrets.values()))


def parse_schema(raw: Mapping[str, Any], field: str = "templateSchema") -> Blueprint:
    """A template schema checked for safety, then validated; errors name each field."""
    check_template(raw)
    try:
        return Blueprint.model_validate(raw)
    except ValidationError as exc:
        fields = field_errors(exc, field)
        names = ", ".join(f["field"] for f in fields)
        raise TemplateSchemaInvalid(f"Invalid template schema: {names}", fields=fields) from exc


def render_template(
    template: ContainerTemplate | Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    project_name: str,
    service_prefix: str,
) -> RenderedTemplate:
    """The services of `template` for `project_name`, filled with `inputs`."""
    raw = template.template_schema if isinstance(template, ContainerTemplate) else template
    blueprint = parse_schema(raw)
    values = resolve_inputs(blueprint.inputs, inputs)
    names = _names(blueprint, project_name, service_prefix)
    credentials = {
        s.name: _credentials(s) for s in blueprint.services if isinstance(s, DatabaseBlueprint)
    }
    refs = dict(values)
    for key, name in names.items():
        found = {"name": name, "host": f"{project_name}_{name}"} | credentials.get(key, {})
        refs |= {f"services.{key}.{attr}": value for attr, value in found.items()}
    hidden = {
        f"inputs.{f.name}": values[f.name]
        for f in blueprint.inputs
        if f.is_secret and values[f.name]
    }
    hidden |= {
        f"services.{key}.{attr}": value
        for key, found in credentials.items()
        for attr, value in found.items()
        if attr.lower().endswith("password")
    }
    ordered = sorted(blueprint.services, key=lambda s: isinstance(s, AppBlueprint))
    rendered = [
        _app(s, names[s.name], refs, set(hidden.values()))
        if isinstance(s, AppBlueprint)
        else _database(s, names[s.name], credentials[s.name])
        for s in ordered
    ]
    for service in rendered:
        check_spec(service.spec.data)
    return RenderedTemplate(services=rendered, inputs=values, secrets=hidden)


def _names(blueprint: Blueprint, project: str, prefix: str) -> dict[str, str]:
    """`<prefix>-<key>` for each service, within SkyPanel's and Docker Swarm's name limits."""
    base = sanitise(prefix, SWARM_NAME_LIMIT)
    names = {s.name: f"{base}-{s.name}" for s in blueprint.services}
    limit = min(SERVICE_NAME_LIMIT, SWARM_NAME_LIMIT - len(project) - 1)
    suffix = max(len(name) - len(base) for name in names.values())
    if len(base) + suffix > limit:
        message = f"Too long: at most {max(limit - suffix, 0)} characters in project {project}"
        raise TemplateInputInvalid(message, fields=[{"field": "servicePrefix", "message": message}])
    return names


def _credentials(db: DatabaseBlueprint) -> dict[str, str]:
    found = {"port": str(DATABASE_PORTS[db.type]), "password": generate(Generate())}
    if db.type in DEFAULT_USERS:
        found["user"] = db.user or DEFAULT_USERS[db.type]
    if db.type in WITH_DATABASE:
        found["database"] = db.database or db.name.replace("-", "_")
    if db.type in ("mysql", "mariadb"):
        found["rootPassword"] = generate(Generate())
    return found


def _resources(limits: Limits) -> dict[str, float]:
    """Easypanel's limits in cores and MB; reservations stay free."""
    return {
        "cpu_limit": float(limits.cpu_cores),
        "cpu_reservation": 0,
        "memory_limit": float(limits.memory_gb * 1024),
        "memory_reservation": 0,
    }


def _database(db: DatabaseBlueprint, name: str, credentials: dict[str, str]) -> RenderedService:
    data: dict[str, Any] = {
        "service_name": name,
        "image": f"{db.type}:{db.version}",
        "password": credentials["password"],
        "user": credentials.get("user"),
        "database_name": credentials.get("database"),
        "root_password": credentials.get("rootPassword"),
        "resources": _resources(db.resources),
    }
    spec = _entry(db.name, {"type": db.type, "data": data})
    return _rendered(db, name, spec, {}, frozenset(), credentials)


def _app(app: AppBlueprint, name: str, refs: dict[str, str], hidden: set[str]) -> RenderedService:
    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda match: refs[match.group(1)], text)

    filled = {key: fill(value) for key, value in app.env.items()}
    env = {key: value for key, value in filled.items() if value}
    data: dict[str, Any] = {
        "service_name": name,
        "source": {"type": "image", "image": fill(app.image)},
        "env": format_env(env),
        "deploy": {"command": fill(app.command)} if app.command else None,
        "domains": [d.model_dump(by_alias=False) | {"host": fill(d.host)} for d in app.domains],
        "ports": [p.model_dump(by_alias=False) for p in app.ports],
        "mounts": [m.model_dump(by_alias=False) for m in app.mounts],
        "resources": _resources(app.resources),
    }
    spec = _entry(app.name, {"type": "app", "data": data})
    secret_keys = frozenset(k for k, v in env.items() if any(s in v for s in hidden))
    return _rendered(app, name, spec, env, secret_keys, {})


def _entry(key: str, entry: dict[str, Any]) -> TemplateService:
    try:
        return _ENTRY.validate_python(entry)
    except ValidationError as exc:
        fields = field_errors(exc, f"services.{key}")
        names = ", ".join(f["field"] for f in fields)
        message = f"The inputs make {key} invalid: {names}"
        raise TemplateInputInvalid(message, fields=fields) from exc


def _rendered(
    blueprint: AppBlueprint | DatabaseBlueprint,
    name: str,
    spec: TemplateService,
    env: dict[str, str],
    secret_keys: frozenset[str],
    credentials: dict[str, str],
) -> RenderedService:
    limits = blueprint.resources
    return RenderedService(
        name=name,
        key=blueprint.name,
        type=blueprint.type,
        cpu_cores=limits.cpu_cores,
        memory_gb=limits.memory_gb,
        storage_gb=limits.storage_gb,
        spec=spec,
        env=env,
        secret_keys=secret_keys,
        credentials=credentials,
    )
