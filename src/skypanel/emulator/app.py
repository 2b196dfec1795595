"""`create_emulator_app()`: the ASGI app that answers like an Easypanel server.

Pipeline of an RPC request: route -> verb (tRPC) -> body -> auth -> faults -> input validation
(strict, by wire name, unknown keys stripped) -> handler under the state lock -> envelope.
Control routes under ``/__emulator/`` (same token): ``state``, ``reset``, ``requests``,
``faults``, ``clock``, ``data`` (a database's contents: GET ``?project=&service=``, POST
``{project, service, data}``), ``seed`` (POST many projects and running services, `_seed`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from skypanel.easypanel import Dialect
from skypanel.easypanel._procedures import is_query
from skypanel.emulator import (
    _h_accounts,
    _h_backups,
    _h_databases,
    _h_deploys,
    _h_network,
    _h_observe,
    _h_services,
    _wire,
)
from skypanel.emulator._controller import EmulatorController
from skypanel.emulator._faults import FailRule, HangRule, RecordedRequest
from skypanel.emulator._registry import Procedure, lookup
from skypanel.emulator._state import EmulatorClock, load_state
from skypanel.emulator._world import EmulatorError, Era, Settings, World

HANDLER_MODULES = (
    _h_accounts,
    _h_backups,
    _h_databases,
    _h_deploys,
    _h_network,
    _h_observe,
    _h_services,
)  # they register
VERSIONS: dict[Era, str] = {"current": "2.32.2", "legacy": "2.23.0"}
PUBLIC = frozenset({"auth.login"})
"""Procedures answered without a token."""


@dataclass(frozen=True, slots=True)
class NodeSize:
    """The emulated server's one Swarm node."""

    cpus: int = 8
    memory_mb: int = 32768
    disk_gb: int = 200


_RULES = TypeAdapter(list[FailRule])
_HANGS = TypeAdapter(list[HangRule])


def create_emulator_app(
    *,
    dialect: Dialect = "orpc",
    token: str,
    era: Era | None = None,
    state_file: Path | None = None,
    deploy_delay: float = 3.0,
    version: str | None = None,
    manual_clock: bool = False,
    log_interval: float = 1.0,
    admin_password: str = "",
    node: NodeSize | None = None,
) -> tuple[Starlette, EmulatorController]:
    """An emulator app and its controller. `manual_clock` freezes time until `advance()`;
    `admin_password` lets `auth.login` sign the administrator in; `node` sizes the server.

    The era defaults to the dialect's: oRPC servers are "current" (2.31+), tRPC "legacy".
    """
    node = node or NodeSize()
    era = era or ("current" if dialect == "orpc" else "legacy")
    settings = Settings(
        dialect=dialect,
        era=era,
        token=token,
        deploy_delay=deploy_delay,
        version=version or VERSIONS[era],
        instance_id=secrets.token_hex(3),
        state_file=state_file,
        log_interval=log_interval,
        admin_password=admin_password,
        cpus=node.cpus,
        memory_mb=node.memory_mb,
        disk_gb=node.disk_gb,
    )
    world = World(settings, EmulatorClock(manual=manual_clock), load_state(state_file))
    controller = EmulatorController(world)
    rpc = _RpcEndpoint(controller)
    control = _ControlEndpoint(controller)
    routes = [
        Route("/api/rpc/{path:path}", rpc.orpc, methods=["GET", "POST"]),
        Route("/api/trpc/{path:path}", rpc.trpc, methods=["GET", "POST"]),
        Route("/__emulator/{action}", control.handle, methods=["GET", "POST", "DELETE"]),
        _h_deploys.deploy_webhook(world),
    ]
    return Starlette(routes=routes), controller


def authorized(request: Request, token: str, sessions: Collection[str] = ()) -> bool:
    """Bearer and bare tokens are both accepted (contract §1.2): the API token, or a session
    token from `auth.login`."""
    header = request.headers.get("authorization", "")
    given = (header[7:] if header.lower().startswith("bearer ") else header).strip()
    return secrets.compare_digest(given.encode(), token.encode()) or given in sessions


class _RpcEndpoint:
    def __init__(self, controller: EmulatorController) -> None:
        self.controller = controller
        self.world = controller.world

    async def orpc(self, request: Request) -> Response:
        return await self._handle(request, "orpc")

    async def trpc(self, request: Request) -> Response:
        return await self._handle(request, "trpc")

    async def _handle(self, request: Request, dialect: Dialect) -> Response:
        if dialect != self.world.settings.dialect:
            return PlainTextResponse("Not Found", status_code=404)
        path = request.path_params["path"]
        name = path.replace("/", ".") if dialect == "orpc" else path
        raw, readable = await _read_input(request, dialect)
        record = RecordedRequest(name, dialect, request.method, raw, time.time())
        self.controller.record(record)
        response = await self._dispatch(request, dialect, name, raw, readable)
        record.status = response.status_code
        return response

    async def _dispatch(
        self, request: Request, dialect: Dialect, name: str, raw: Any, readable: bool
    ) -> Response:
        found = lookup(name, self.world.settings.era)
        if found is None:
            return JSONResponse(_wire.not_found(dialect, name), status_code=404)
        if dialect == "trpc" and (request.method == "GET") != is_query(name):
            message = f"Unsupported {request.method}-request to {name} procedure"
            return _error(dialect, name, 405, message)
        if not readable:
            return _error(dialect, name, 400, "Malformed request body")
        if name not in PUBLIC and not authorized(
            request, self.world.settings.token, self.world.sessions
        ):
            return _error(
                dialect, name, 401, "UNAUTHORIZED" if dialect == "trpc" else "Unauthorized"
            )
        faults = self.controller.faults
        if faults.latency:
            await asyncio.sleep(faults.latency)
        hang = faults.take_hang(name)
        if hang is not None:
            await self._hang(hang.seconds)
            return _error(dialect, name, 504, "Gateway timeout")
        rule = faults.take_rule(name, after_effect=False) or faults.random_failure()
        if rule is not None:
            return _injected(dialect, name, rule)
        response = self._run(dialect, found, raw)
        after = faults.take_rule(name, after_effect=True)
        return (
            response
            if after is None or response.status_code >= 400
            else _injected(dialect, name, after)
        )

    def _run(self, dialect: Dialect, found: Procedure, raw: Any) -> Response:
        body = None
        if found.model is not None:
            try:
                body = found.model.model_validate(raw, strict=True, by_alias=True, by_name=False)
            except ValidationError as exc:
                return JSONResponse(
                    _wire.validation_error(dialect, found.name, exc), status_code=400
                )
        with self.world.lock:
            self.world.settle()
            try:
                result = found.handler(self.world, body)
            except EmulatorError as exc:
                status = 400 if dialect == "orpc" else 500
                return _error(dialect, found.name, status, exc.message)
            if not is_query(found.name):
                self.world.persist()
            # Rendered under the lock, so the answer needs no copy of the state it shows.
            return JSONResponse(_wire.success(dialect, result, void=found.void))

    async def _hang(self, seconds: float) -> None:
        released = self.controller.hang_event()
        try:
            await asyncio.wait_for(released.wait(), seconds)
        except TimeoutError:
            return


async def _read_input(request: Request, dialect: Dialect) -> tuple[Any, bool]:
    """The value under ``json`` and whether the request could be read at all.

    tRPC queries carry it in ``?input=``; an oRPC GET carries none (only no-input procedures
    work that way); a POST body is required by oRPC and optional for tRPC.
    """
    try:
        if request.method == "GET":
            text = request.query_params.get("input") if dialect == "trpc" else None
            envelope = json.loads(text) if text else {}
        else:
            raw = await request.body()
            if not raw:
                return None, dialect == "trpc"
            envelope = json.loads(raw)
    except ValueError:
        return None, False
    return (envelope.get("json"), True) if isinstance(envelope, dict) else (None, False)


def _error(dialect: Dialect, name: str, status: int, message: str) -> JSONResponse:
    return JSONResponse(_wire.error(dialect, name, status, message), status_code=status)


def _injected(dialect: Dialect, name: str, rule: FailRule) -> Response:
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
    if rule.envelope == "text":
        return PlainTextResponse(rule.message, status_code=rule.status, headers=headers)
    if rule.envelope == "bare":
        body: Any = {"error": rule.message}
    else:
        shape: Dialect = dialect if rule.envelope == "dialect" else rule.envelope
        body = _wire.error(
            shape, name, rule.status, rule.message, code=rule.code, zod_errors=rule.zod_errors
        )
    return JSONResponse(body, status_code=rule.status, headers=headers)


class _ControlEndpoint:
    def __init__(self, controller: EmulatorController) -> None:
        self.controller = controller

    async def handle(self, request: Request) -> Response:
        if not authorized(request, self.controller.world.settings.token):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        action, method = request.path_params["action"], request.method
        body: dict[str, Any] = await request.json() if method == "POST" else {}
        control = self.controller
        if action == "state" and method == "GET":
            return JSONResponse(control.snapshot())
        if action == "reset" and method == "POST":
            control.reset()
            return JSONResponse({"ok": True})
        if action == "requests" and method in ("GET", "DELETE"):
            if method == "DELETE":
                control.clear_requests()
            return JSONResponse(
                [vars(r) for r in control.requests(request.query_params.get("procedure"))]
            )
        if action == "data" and method in ("GET", "POST"):
            query = request.query_params
            project, service = (
                body.get("project", query.get("project")),
                body.get("service", query.get("service")),
            )
            try:
                if method == "POST":
                    control.set_database_data(str(project), str(service), str(body["data"]))
                return JSONResponse({"data": control.database_data(str(project), str(service))})
            except (EmulatorError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        if action == "seed" and method == "POST":
            try:
                return JSONResponse({"services": control.seed(body)})
            except EmulatorError as exc:
                return JSONResponse({"error": exc.message}, status_code=400)
        if action == "clock" and method == "POST":
            control.advance(float(body.get("advance", 0)))
            return JSONResponse({"now": control.world.clock.now()})
        if action == "faults" and method in ("GET", "POST", "DELETE"):
            if method == "DELETE":
                control.clear_faults()
            elif method == "POST":
                try:
                    self._apply_faults(body)
                except (ValidationError, TypeError, ValueError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(control.faults_json())
        return JSONResponse({"error": "Not found"}, status_code=404)

    def _apply_faults(self, body: dict[str, Any]) -> None:
        faults = self.controller.faults
        if "latency" in body:
            faults.latency = float(body["latency"])
        if "failureRate" in body:
            self.controller.set_failure_rate(
                float(body["failureRate"]), status=int(body.get("failureStatus", 500))
            )
        faults.rules.extend(_RULES.validate_python(body.get("fail", [])))
        faults.hangs.extend(_HANGS.validate_python(body.get("hang", [])))
