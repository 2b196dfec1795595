"""What a customer's service may not do: reach the host or the Docker daemon.

Refused everywhere (templates, app deployments, services found on Easypanel): bind mounts and
other host paths, the Docker socket in any mount, env value or command, privileged mode, extra
kernel capabilities, host devices, and the host's network, PID, IPC or UTS namespaces.

The checks walk plain JSON-like data (camelCase or snake_case keys), so the same rules apply to a
template as an admin wrote it, to the specs sent to Easypanel and to the service objects Easypanel
returns. Inline compose files are read line by line for the same constructs.

`service_violations` is the rule for one running service: app deployments (`check_app`, which
shapes the request like the service Easypanel will report) and drift reconciliation (with the
object Easypanel lists) both judge a service through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel

from skypanel.easypanel.schemas import AnyDatabaseSpec, AppSpec, ComposeSpec
from skypanel.kit.errors import AppError

_HOST_NAMESPACES = {
    "networkmode": "host networking",
    "network": "host networking",
    "net": "host networking",
    "pid": "the host's PID namespace",
    "ipc": "the host's IPC namespace",
    "uts": "the host's UTS namespace",
    "usernsmode": "the host's user namespace",
}
_DANGEROUS_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_PTRACE",
        "SYS_BOOT",
        "SYS_TIME",
        "NET_ADMIN",
        "DAC_READ_SEARCH",
        "MKNOD",
        "BPF",
        "PERFMON",
    }
)
_COMPOSE_RULES = (
    (re.compile(r"^\s*privileged:\s*['\"]?(true|yes)", re.I | re.M), "privileged mode"),
    (re.compile(r"^\s*network_mode:\s*['\"]?host", re.I | re.M), "host networking"),
    (re.compile(r"^\s*(pid|ipc|uts):\s*['\"]?host", re.I | re.M), "a host namespace"),
    (re.compile(r"^\s*(cap_add|devices):", re.I | re.M), "extra capabilities or host devices"),
    (re.compile(r"^\s*type:\s*['\"]?bind", re.I | re.M), "a bind mount"),
    (re.compile(r"^\s*-\s*['\"]?(/|\./|\.\./|~)[^:\s'\"]*:", re.M), "a bind mount of a host path"),
)


@dataclass(frozen=True)
class Violation:
    """One refused construct: the service, where in its definition, and why."""

    service: str
    where: str
    reason: str


class UnsafeDeployment(AppError):
    code = "UNSAFE_DEPLOYMENT"
    status = 422


def scan(service: str, data: Any) -> list[Violation]:
    """Every violation in one service's definition (a spec, a model or plain JSON)."""
    found: list[Violation] = []
    _walk(service, _plain(data), "", found)
    return found


def ensure_safe(violations: Iterable[Violation]) -> None:
    """Raise UnsafeDeployment listing each violation, if there is any."""
    listed = list(violations)
    if listed:
        reasons = "; ".join(f"{v.service}: {v.reason} ({v.where})" for v in listed)
        raise UnsafeDeployment(
            f"Refused for safety: {reasons}", violations=[asdict(v) for v in listed]
        )


def check_spec(spec: AppSpec | AnyDatabaseSpec | ComposeSpec) -> None:
    """Refuse an Easypanel service spec (as sent to createService or createFromSchema)."""
    ensure_safe(scan(spec.service_name, spec))


def check_template(schema: Mapping[str, Any]) -> None:
    """Refuse a template schema (our format, as stored) whose services are unsafe."""
    services = schema.get("services")
    entries = services if isinstance(services, list) else []
    ensure_safe(
        violation
        for index, entry in enumerate(entries)
        for violation in scan(_name_of(entry, index), entry)
    )


def service_violations(reported: Mapping[str, Any] | BaseModel) -> list[Violation]:
    """Every violation in one service as Easypanel reports it (`inspectService`, the services of
    `listProjectsAndServices`): mounts, env, deploy settings, an inline compose file, and any
    unknown field the server may add (privileged, network mode...). Named by its `name`."""
    data = _plain(reported)
    name = data.get("name") if isinstance(data, Mapping) else None
    return scan(name if isinstance(name, str) and name else "?", data)


def check_app(
    service: str,
    *,
    mounts: Iterable[Any] = (),
    env: Mapping[str, str] | None = None,
    deploy: Any = None,
) -> None:
    """Refuse an app deployment request: its mounts, env and deploy settings, judged as the
    service Easypanel would report."""
    reported = {
        "type": "app",
        "name": service,
        "mounts": [_plain(m) for m in mounts],
        "env": env or {},
        "deploy": _plain(deploy),
    }
    ensure_safe(service_violations(reported))


def check_mounts(service: str, mounts: Iterable[Any]) -> None:
    """Refuse anything but named volumes and file mounts without the Docker socket."""
    check_app(service, mounts=mounts)


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def _name_of(entry: Any, index: int) -> str:
    if isinstance(entry, Mapping):
        name = entry.get("name") or entry.get("serviceName")
        if isinstance(name, str) and name:
            return name
    return f"services.{index}"


def _walk(
    service: str, node: Any, where: str, found: list[Violation], *, keys: bool = True
) -> None:
    """Look for the socket in every string; with `keys`, also read keys as settings."""
    if isinstance(node, Mapping):
        if keys:
            _check_mapping(service, node, where, found)
        for key, value in node.items():
            at = f"{where}.{key}".lstrip(".")
            if keys:
                _check_entry(service, str(key), value, at, found)
            else:
                _walk(service, value, at, found, keys=False)
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            _walk(service, item, f"{where}.{index}".lstrip("."), found, keys=keys)
    elif isinstance(node, str) and "docker.sock" in node.lower():
        found.append(Violation(service, where, "the Docker socket"))


def _check_mapping(
    service: str, node: Mapping[str, Any], where: str, found: list[Violation]
) -> None:
    host_path = node.get("hostPath") or node.get("host_path")
    if node.get("type") == "bind" or host_path:
        found.append(Violation(service, where, f"a bind mount of the host path {host_path or '?'}"))
    content = node.get("content")
    if node.get("type") == "inline" and isinstance(content, str):
        found.extend(
            Violation(service, f"{where}.content".lstrip("."), f"{reason} in the compose file")
            for rule, reason in _COMPOSE_RULES
            if rule.search(content)
        )


def _check_entry(service: str, key: str, value: Any, where: str, found: list[Violation]) -> None:
    normal = key.lower().replace("_", "").replace("-", "")
    capabilities = _dangerous(value) if normal == "capadd" else []
    if normal == "env":
        _walk(service, value, where, found, keys=False)
    elif normal == "privileged" and value:
        found.append(Violation(service, where, "privileged mode"))
    elif normal in _HOST_NAMESPACES and isinstance(value, str) and value.lower() == "host":
        found.append(Violation(service, where, _HOST_NAMESPACES[normal]))
    elif capabilities:
        found.append(Violation(service, where, f"the capabilities {', '.join(capabilities)}"))
    elif normal == "devices" and value:
        found.append(Violation(service, where, "host devices"))
    else:
        _walk(service, value, where, found)


def _dangerous(capabilities: Any) -> list[str]:
    listed = capabilities if isinstance(capabilities, list) else []
    return [
        str(c) for c in listed if str(c).upper().removeprefix("CAP_") in _DANGEROUS_CAPABILITIES
    ]
