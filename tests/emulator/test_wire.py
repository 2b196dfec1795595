"""Paths, verbs, envelopes, authentication and input validation, byte for byte."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from skypanel.emulator import ADMIN_EMAIL, RunningEmulator, running_emulator
from tests.emulator._support import call, payload, send

GENERATED = re.compile(r"^[a-z0-9]{20}$")


async def test_orpc_envelopes(orpc_http: httpx.AsyncClient) -> None:
    http = orpc_http
    created = await http.post("/api/rpc/projects/createProject", json={"json": {"name": "acme"}})
    void = await http.post("/api/rpc/projects/destroyProject", json={"json": {"name": "acme"}})
    listed = await http.post("/api/rpc/projects/listProjects", json={"json": None})
    empty = await http.post("/api/rpc/projects/listProjects")
    unknown = await http.post("/api/rpc/services/mysql/restartService", json={"json": {}})

    assert created.status_code == 200
    assert created.json() == {
        "json": {"name": "acme", "createdAt": created.json()["json"]["createdAt"]},
        "meta": [],
    }
    assert (void.status_code, void.json()) == (200, {})
    assert listed.json() == {"json": [], "meta": []}
    assert empty.status_code == 400
    assert empty.json()["json"]["code"] == "BAD_REQUEST"
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not found"})


async def test_trpc_envelopes_and_verbs(trpc_http: httpx.AsyncClient) -> None:
    http = trpc_http
    created = await http.post("/api/trpc/projects.createProject", json={"json": {"name": "acme"}})
    query = json.dumps({"json": {"projectName": "acme"}})
    inspected = await http.get("/api/trpc/projects.inspectProject", params={"input": query})
    no_input = await http.get("/api/trpc/projects.listProjects")
    void = await http.post("/api/trpc/projects.destroyProject", json={"json": {"name": "acme"}})
    query_as_post = await http.post("/api/trpc/projects.listProjects", json={"json": None})
    mutation_as_get = await http.get("/api/trpc/projects.createProject")
    unknown = await http.post("/api/trpc/services.mysql.restartService", json={"json": {}})

    assert created.json()["result"]["data"]["json"]["name"] == "acme"
    assert inspected.json()["result"]["data"]["json"]["project"]["name"] == "acme"
    assert no_input.json()["result"]["data"]["json"][0]["name"] == "acme"
    assert (void.status_code, void.json()) == (200, {"result": {"data": {"json": None}}})
    for wrong in (query_as_post, mutation_as_get):
        assert wrong.status_code == 405
        assert wrong.json()["error"]["json"]["data"]["code"] == "METHOD_NOT_SUPPORTED"
        assert wrong.json()["error"]["json"]["code"] == -32005
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": {
            "json": {
                "message": 'No "mutation"-procedure on path "services.mysql.restartService"',
                "code": -32004,
                "data": {
                    "code": "NOT_FOUND",
                    "httpStatus": 404,
                    "path": "services.mysql.restartService",
                },
            }
        }
    }


async def test_the_other_dialect_is_not_served(emulator: RunningEmulator) -> None:
    other = "/api/trpc/auth.getUser" if emulator.dialect == "orpc" else "/api/rpc/auth/getUser"
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        response = await http.post(other, json={"json": None})

    assert response.status_code == 404
    assert emulator.controller.requests() == []


@pytest.mark.parametrize("header", ["Bearer {token}", "{token}", "bearer {token}"])
async def test_bearer_and_bare_tokens(emulator: RunningEmulator, header: str) -> None:
    headers = {"Authorization": header.format(token=emulator.token)}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as http:
        user = await call(http, emulator, "auth.getUser")

    assert user["email"] == "admin@example.com"
    assert user["admin"] is True


@pytest.mark.parametrize("header", [None, "Bearer nope", "nope"])
async def test_bad_tokens_get_401(emulator: RunningEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as http:
        response = await send(http, emulator, "projects.listProjects")

    assert response.status_code == 401
    if emulator.dialect == "orpc":
        assert response.json() == {
            "json": {
                "defined": False,
                "code": "UNAUTHORIZED",
                "status": 401,
                "message": "Unauthorized",
                "data": {},
            }
        }
    else:
        error = response.json()["error"]["json"]
        assert (error["message"], error["code"], error["data"]["httpStatus"]) == (
            "UNAUTHORIZED",
            -32001,
            401,
        )


async def test_unknown_keys_are_stripped(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    project = await call(http, emulator, "projects.createProject", {"name": "acme", "owner": "x"})
    user = await call(
        http,
        emulator,
        "users.createUser",
        {"email": "a@b.io", "password": "p", "admin": False, "role": "x"},
    )

    assert set(project) == {"name", "createdAt"}
    assert set(user) == {"id", "email", "admin", "createdAt"}


async def test_a_flat_update_resets_the_field(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    """Contract §1.4: ``updateDeploy {replicas: 3}`` is accepted and sets only the defaults."""
    ref = {"projectName": "acme", "serviceName": "web"}
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    await call(http, emulator, "services.app.createService", ref)
    await call(http, emulator, "services.app.updateDeploy", {**ref, "deploy": {"replicas": 3}})
    await call(http, emulator, "services.app.updateDeploy", {**ref, "replicas": 5})

    service = emulator.controller.service("acme", "web")
    assert service is not None
    assert service["deploy"] == {"replicas": 1, "command": None, "zeroDowntime": True}


@pytest.mark.parametrize(
    ("procedure", "body", "zod"),
    [
        ("projects.inspectProject", {"project_name": "acme"}, {"projectName": "Required"}),
        ("projects.createProject", {"name": "Acme"}, {"name": "Invalid"}),
        ("projects.createProject", None, {"_root": "Expected object"}),
        ("users.updateUser", {"id": "x", "admin": "true"}, {"admin": "Expected boolean"}),
        (
            "services.app.updateResources",
            {"projectName": "a", "serviceName": "b", "resources": {"cpuLimit": 1}},
            {
                "resources": {
                    "cpuReservation": "Required",
                    "memoryLimit": "Required",
                    "memoryReservation": "Required",
                }
            },
        ),
    ],
)
async def test_validation_errors(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str, body: object, zod: object
) -> None:
    response = await send(http, emulator, procedure, body)

    assert response.status_code == 400
    if emulator.dialect == "orpc":
        error = response.json()["json"]
        assert (error["code"], error["message"]) == ("BAD_REQUEST", "Input validation failed")
    else:
        error = response.json()["error"]["json"]
        assert error["code"] == -32600
        assert json.loads(error["message"])[0]["path"] is not None
    assert error["data"]["zodErrors"] == zod


async def test_log_cursor_must_be_a_string(
    orpc: RunningEmulator, orpc_http: httpx.AsyncClient
) -> None:
    body = {"projectName": "a", "serviceName": "b", "start": 1}
    response = await send(orpc_http, orpc, "logs.queryServiceLogs", body)

    assert response.status_code == 400
    assert response.json()["json"]["data"]["zodErrors"] == {"start": "Expected string"}


async def test_database_defaults(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await call(http, emulator, "projects.createProject", {"name": "shop"})
    ref = {"projectName": "shop", "serviceName": "db"}
    mysql = await call(http, emulator, "services.mysql.createService", ref)
    redis = await call(
        http, emulator, "services.redis.createService", {**ref, "serviceName": "cache"}
    )

    assert (mysql["image"], mysql["user"], mysql["databaseName"]) == ("mysql:9", "mysql", "shop")
    for secret in (
        mysql["password"],
        mysql["rootPassword"],
        mysql["dbGate"]["token"],
        mysql["phpMyAdmin"]["token"],
    ):
        assert GENERATED.match(secret)
    assert len({mysql["password"], mysql["rootPassword"]}) == 2
    assert redis["image"] == "redis:7"
    assert GENERATED.match(redis["password"])
    assert "env" not in redis
    assert "user" not in redis
    assert "databaseName" not in redis


@pytest.mark.parametrize(
    "procedure",
    [
        "services.postgres.deployService",
        "services.mongo.startService",
        "services.app.enableService",
    ],
)
async def test_verbs_a_type_lacks_are_404(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str
) -> None:
    response = await send(http, emulator, procedure, {"projectName": "a", "serviceName": "b"})

    assert response.status_code == 404


async def test_monitoring_names_follow_the_era(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    names = [
        "monitor.getDockerTaskStats",
        "monitorOld.getDockerTaskStats",
        "metrics.getAllServicesStats",
    ]
    statuses = [(await send(http, emulator, name)).status_code for name in names]

    assert statuses == ([404, 200, 200] if emulator.dialect == "orpc" else [200, 404, 404])


async def test_domain_errors_per_dialect(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    duplicate = await send(http, emulator, "projects.createProject", {"name": "acme"})
    missing = await send(http, emulator, "projects.inspectProject", {"projectName": "nope"})

    if emulator.dialect == "orpc":
        assert duplicate.status_code == 400
        assert duplicate.json()["json"]["message"] == "Project already exists"
        assert missing.json()["json"]["message"] == "Project not found"
    else:
        assert duplicate.status_code == 500
        error = duplicate.json()["error"]["json"]
        assert (error["message"], error["code"], error["data"]["code"]) == (
            "Project already exists",
            -32603,
            "INTERNAL_SERVER_ERROR",
        )
        assert missing.json()["error"]["json"]["message"] == "Project not found"
    assert (
        payload(emulator, await send(http, emulator, "projects.listProjects"))[0]["name"] == "acme"
    )


@pytest.mark.parametrize("dialect", ["orpc", "trpc"])
async def test_auth_login_gives_a_session_token_for_the_administrator(dialect: str) -> None:
    with running_emulator(dialect=dialect, admin_password="s3cret-pass") as emulator:  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=emulator.base_url, timeout=5) as anonymous:
            refused = await send(anonymous, emulator, "auth.getUser")
            wrong = await send(
                anonymous, emulator, "auth.login", {"email": ADMIN_EMAIL, "password": "nope"}
            )
            malformed = await send(anonymous, emulator, "auth.login", {"email": "not-an-email"})
            token = (
                await call(
                    anonymous,
                    emulator,
                    "auth.login",
                    {"email": ADMIN_EMAIL, "password": "s3cret-pass", "rememberMe": True},
                )
            )["token"]
            anonymous.headers["Authorization"] = f"Bearer {token}"
            user = await call(anonymous, emulator, "auth.getUser")

    assert refused.status_code == 401
    assert wrong.status_code in (400, 500)
    assert "Invalid email or password" in wrong.text
    assert malformed.status_code in (400, 500)
    assert (user["email"], user["admin"]) == (ADMIN_EMAIL, True)
