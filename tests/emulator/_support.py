"""Sending one procedure call by hand, in the emulator's dialect."""

from __future__ import annotations

import json
from typing import Any

import httpx

from skypanel.easypanel._procedures import is_query, orpc_path, trpc_path
from skypanel.emulator import RunningEmulator


async def send(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str, payload: Any = None
) -> httpx.Response:
    """The request a correct client would send: tRPC queries as GET, the rest as POST."""
    if emulator.dialect == "orpc":
        return await http.post(orpc_path(procedure), json={"json": payload})
    if is_query(procedure):
        return await http.get(trpc_path(procedure), params={"input": json.dumps({"json": payload})})
    return await http.post(trpc_path(procedure), json={"json": payload})


def payload(emulator: RunningEmulator, response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    return body.get("json") if emulator.dialect == "orpc" else body["result"]["data"]["json"]


async def call(
    http: httpx.AsyncClient, emulator: RunningEmulator, procedure: str, data: Any = None
) -> Any:
    return payload(emulator, await send(http, emulator, procedure, data))
