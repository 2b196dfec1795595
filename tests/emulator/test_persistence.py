"""`state_file`: the emulator's state survives a restart."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from skypanel.emulator import running_emulator
from tests.emulator._support import call


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "easypanel.json"
    ref = {"projectName": "acme", "serviceName": "web"}
    with running_emulator(state_file=state, manual_clock=True, deploy_delay=1) as first:
        headers = {"Authorization": first.token}
        async with httpx.AsyncClient(base_url=first.base_url, headers=headers) as http:
            await call(http, first, "projects.createProject", {"name": "acme"})
            await call(http, first, "services.app.createService", {**ref, "env": "A=1\n"})
            await call(http, first, "services.app.updateDeploy", {**ref, "deploy": {"replicas": 2}})

    saved = json.loads(state.read_text())
    with running_emulator(state_file=state, manual_clock=True) as second:
        headers = {"Authorization": second.token}
        async with httpx.AsyncClient(base_url=second.base_url, headers=headers) as http:
            service = await call(http, second, "services.app.inspectService", ref)
            projects = await call(http, second, "projects.listProjects")

    assert list(saved["projects"]) == ["acme"]
    assert list(saved["services"]) == ["acme/web"]
    assert [p["name"] for p in projects] == ["acme"]
    assert (service["env"], service["deploy"]["replicas"]) == ("A=1\n", 2)
