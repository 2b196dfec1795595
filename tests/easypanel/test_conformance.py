"""Every body the client sent in the contract tests, checked against the servers' own schemas.

The OpenAPI documents served by Easypanel 2.16.0 and 2.23.0 (tRPC) and 2.32.2 (oRPC) sit in
``../shared/easypanel/``; they are read here at test time, never copied into the project. tRPC
requests are checked against both tRPC versions where the procedure exists there, with the verb
the spec declares (GET for queries); oRPC requests against 2.32.2. Objects of 2.32.2 do not say
``additionalProperties: false`` (zod strips unknown keys silently), so they are tightened here:
a key the server does not know would be dropped without an error, which is exactly the mistake
this test is for.

This module runs after the other contract tests (see conftest.py).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker, _keywords, validators

from skypanel.easypanel import DATABASE_TYPES
from skypanel.emulator import RecordedRequest

DUMPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "easypanel"
VERSIONS = {"trpc": ("2.16.0", "2.23.0"), "orpc": ("2.32.2",)}

# Every procedure the client's methods use, per dialect; the contract tests must exercise all.
CLIENT_PROCEDURES = {
    "auth.getUser",
    "users.listUsers",
    "users.createUser",
    "users.updateUser",
    "users.destroyUser",
    "projects.listProjects",
    "projects.listProjectsAndServices",
    "projects.inspectProject",
    "projects.createProject",
    "projects.destroyProject",
    "projects.updateProjectEnv",
    "projects.updateAccess",
    "projects.getDockerContainers",
    "services.common.getServiceError",
    "templates.createFromSchema",
    "actions.listActions",
    "actions.getAction",
    "update.getStatus",
    "cluster.listNodes",
    *(
        f"services.app.{verb}"
        for verb in [
            "createService",
            "inspectService",
            "deployService",
            "startService",
            "stopService",
            "restartService",
            "destroyService",
            "updateSourceImage",
            "updateSourceGithub",
            "updateSourceGit",
            "updateSourceDockerfile",
            "updateEnv",
            "updateResources",
            "updateDeploy",
            "updateMaintenance",
        ]
    ),
    *(
        f"services.{kind}.{verb}"
        for kind in ("postgres", "mysql", "mariadb", "mongo", "redis")
        for verb in [
            "createService",
            "inspectService",
            "destroyService",
            "enableService",
            "disableService",
            "updateResources",
            "updateCredentials",
        ]
    ),
}
NETWORK_PROCEDURES: set[str] = {
    *(f"domains.{verb}" for verb in ("listDomains", "createDomain", "updateDomain")),
    *(f"domains.{verb}" for verb in ("deleteDomain", "setPrimaryDomain", "getPrimaryDomain")),
    "certificates.listCertificates",
    "certificates.removeCertificate",
    *(f"ports.{verb}" for verb in ("listPorts", "createPort", "updatePort", "deletePort")),
    *(f"mounts.{verb}" for verb in ("listMounts", "createMount", "updateMount", "deleteMount")),
    *(f"services.{kind}.exposeService" for kind in DATABASE_TYPES),
    "settings.getServiceDomain",
    "settings.setServiceDomain",
    "settings.getServerIp",
}
"""domains.*, certificates.*, ports.*, mounts.*, settings.*ServiceDomain, exposeService."""
BACKUP_PROCEDURES: set[str] = {
    "storageProviders.s3.createProvider",
    "storageProviders.s3.updateProvider",
    "storageProviders.common.list",
    "databaseBackups.listDatabaseBackups",
    "databaseBackups.createDatabaseBackup",
    "databaseBackups.updateDatabaseBackup",
    "databaseBackups.runDatabaseBackup",
    "databaseBackups.restoreDatabaseBackup",
    "volumeBackups.listVolumeBackups",
    "volumeBackups.createVolumeBackup",
    "volumeBackups.updateVolumeBackup",
    "volumeBackups.runVolumeBackup",
}
"""storageProviders.*, databaseBackups.*, volumeBackups.*."""
DEPLOY_PROCEDURES: set[str] = {
    f"services.app.{verb}"
    for verb in ("updateBuild", "enableGithubDeploy", "disableGithubDeploy", "refreshDeployToken")
}
"""services.app.updateBuild, GitHub deploy webhooks."""
CLIENT_PROCEDURES |= NETWORK_PROCEDURES | BACKUP_PROCEDURES | DEPLOY_PROCEDURES
ERA_PROCEDURES = {
    "trpc": {
        "monitor.getDockerTaskStats",
        "monitor.getStorageStats",
        "monitor.getServiceStats",
        "monitor.getSystemStats",
    },
    "orpc": {
        "monitorOld.getDockerTaskStats",
        "monitorOld.getStorageStats",
        "metrics.getServiceStats",
        "metrics.getSystemStats",
        "logs.queryServiceLogs",
    },
}


@cache
def _spec(version: str) -> dict[str, Any] | None:
    path = DUMPS / f"openapi-{version}.json"
    if not path.exists():
        return None
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


def _operation(spec: dict[str, Any], version: str, procedure: str) -> tuple[str, Any] | None:
    """(verb, schema of the whole ``{"json": ...}`` envelope or None for no input), or None if
    the procedure is absent. The envelope is kept whole: the specs' ``$ref``s point from it."""
    if version == "2.32.2":
        item = spec["paths"].get("/" + procedure.replace(".", "/"))
        if item is None:
            return None
        body = item["post"].get("requestBody")
        schema = body["content"]["application/json"]["schema"] if body else None
        return "POST", _tighten(schema) if schema else None
    item = spec["paths"].get(f"/api/trpc/{procedure}")
    if item is None:
        return None
    if "get" in item:
        parameters = item["get"].get("parameters") or []
        schema = parameters[0]["content"]["application/json"]["schema"] if parameters else None
        return "GET", schema
    body = item["post"].get("requestBody")
    return "POST", body["content"]["application/json"]["schema"] if body else None


def _tighten(schema: Any, *, part: bool = False) -> Any:
    """Refuse unknown keys in every object that lists its properties, except the parts of an
    `allOf` (each lists only some of the object's keys: zod's `.and()`, `domains.*`)."""
    if isinstance(schema, list):
        return [_tighten(item, part=part) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {
        key: _tighten(value, part=key == "allOf" or (part and key in ("anyOf", "oneOf")))
        for key, value in schema.items()
    }
    if "properties" in schema and "additionalProperties" not in schema and not part:
        tightened["additionalProperties"] = False
    return tightened


def _untyped(schema: Any) -> bool:
    """The tRPC dumps lost some inputs (zod intersections): "Unknown object properties"."""
    inner = schema.get("properties", {}).get("json", {}) if isinstance(schema, dict) else {}
    return isinstance(inner, dict) and inner.get("description") == "Unknown object properties"


def _js_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """The dumps' patterns are JavaScript's, where `[\\w-/.]` is a literal `-` (Python refuses
    a range from a class escape)."""
    python = re.sub(r"(\\[wdsWDS])-", r"\1\\-", pattern)
    yield from _keywords.pattern(validator, python, instance, schema)


_JsPatterns = validators.extend(Draft202012Validator, {"pattern": _js_pattern})


def _problems(request: RecordedRequest, version: str, spec: dict[str, Any]) -> list[str]:
    operation = _operation(spec, version, request.procedure)
    if operation is None:
        return []
    verb, schema = operation
    where = f"{request.procedure} ({request.dialect} vs {version})"
    found = [] if request.method == verb else [f"{where}: sent {request.method}, spec says {verb}"]
    if schema is None:
        if request.input is not None:
            found.append(f"{where}: no input expected, sent {request.input!r}")
        return found
    if _untyped(schema):
        return found
    validator = _JsPatterns(schema, format_checker=FormatChecker())
    for error in validator.iter_errors({"json": request.input}):
        at = "/".join(map(str, error.absolute_path))
        found.append(f"{where}: {error.message} at /{at} in {request.input!r}")
    return found


@pytest.mark.parametrize(
    ("dialect", "version"), [(d, v) for d, versions in VERSIONS.items() for v in versions]
)
def test_requests_match_the_server_schemas(
    sent_requests: list[RecordedRequest], dialect: str, version: str
) -> None:
    spec = _spec(version)
    if spec is None:
        pytest.skip(f"openapi-{version}.json not found in {DUMPS.resolve()}: not checked")
    requests = [r for r in sent_requests if r.dialect == dialect]
    if not requests:
        pytest.skip("no client requests recorded: run the whole tests/easypanel directory")

    problems = sorted({p for request in requests for p in _problems(request, version, spec)})
    checked = {r.procedure for r in requests if _operation(spec, version, r.procedure)}

    assert problems == [], "\n".join(problems)
    assert checked, f"no request of {dialect} could be checked against {version}"


@pytest.mark.parametrize("dialect", ["orpc", "trpc"])
def test_every_client_procedure_was_exercised(
    sent_requests: list[RecordedRequest], dialect: str
) -> None:
    sent = {r.procedure for r in sent_requests if r.dialect == dialect}
    if not sent:
        pytest.skip("no client requests recorded: run the whole tests/easypanel directory")

    assert (CLIENT_PROCEDURES | ERA_PROCEDURES[dialect]) - sent == set()


MISTAKES = [
    ("trpc", "POST", "projects.destroyProject", {"projectName": "acme"}),
    ("orpc", "POST", "projects.destroyProject", {"projectName": "acme"}),
    (
        "orpc",
        "POST",
        "services.app.updateDeploy",
        {"projectName": "a", "serviceName": "b", "replicas": 3},
    ),
    (
        "orpc",
        "POST",
        "services.app.updateEnv",
        {"projectName": "a", "serviceName": "b", "env": {"A": "1"}},
    ),
    (
        "orpc",
        "POST",
        "services.postgres.createService",
        {"projectName": "a", "serviceName": "b", "database": "x"},
    ),
    ("trpc", "POST", "projects.inspectProject", {"projectName": "acme"}),
    ("orpc", "POST", "logs.queryServiceLogs", {"projectName": "a", "serviceName": "b", "start": 1}),
]


@pytest.mark.parametrize(("dialect", "method", "procedure", "body"), MISTAKES)
def test_the_check_catches_known_mistakes(
    dialect: str, method: str, procedure: str, body: dict[str, Any]
) -> None:
    """Contract §7: wrong keys, flat objects, env as an object, a query sent as POST."""
    version = VERSIONS[dialect][-1]
    spec = _spec(version)
    if spec is None:
        pytest.skip(f"openapi-{version}.json not found in {DUMPS.resolve()}: not checked")
    request = RecordedRequest(procedure, dialect, method, body, at=0.0)

    assert _problems(request, version, spec) != []
