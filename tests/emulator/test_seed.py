"""`POST /__emulator/seed`: many projects and running services in one request."""

from __future__ import annotations

from typing import Any

import httpx

from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RunningEmulator
from tests.emulator._support import call

IMAGE = {"type": "image", "image": "nginx:1.27"}


def _world() -> dict[str, Any]:
    return {
        "projects": [
            {
                "name": "acme",
                "services": [
                    {"type": "app", "serviceName": "web", "source": IMAGE, "env": "A=1"},
                    {"type": "postgres", "serviceName": "db", "running": False},
                    {
                        "type": "app",
                        "serviceName": "root",
                        "source": IMAGE,
                        "edit": {"deploy": {"privileged": True}},
                    },
                ],
            },
            {"name": "empty", "services": []},
        ]
    }


async def test_a_seeded_world_is_listed_running_as_if_deployed(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    seeded = await http.post("/__emulator/seed", json=_world())
    listed = await call(http, emulator, "projects.listProjectsAndServices")
    async with EasypanelClient(emulator.base_url, emulator.token) as client:
        tasks = await client.get_task_stats()
        actions = await client.list_actions("acme", "web")

    assert seeded.json() == {"services": 3}
    assert [p["name"] for p in listed["projects"]] == ["acme", "empty"]
    services = {s["name"]: s for s in listed["services"]}
    assert list(services) == ["web", "db", "root"]
    assert services["web"]["env"] == "A=1"
    assert services["web"]["deploymentUrl"].startswith("http")
    assert services["root"]["deploy"]["privileged"] is True
    assert services["db"]["password"]
    assert {name: (t.desired, t.actual) for name, t in tasks.items()} == {
        "acme_web": (1, 1),
        "acme_db": (0, 0),
        "acme_root": (1, 1),
    }
    assert [(a.type, a.status) for a in actions] == [("deployment", "done")]


async def test_a_bad_seed_names_the_entry_and_adds_nothing(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    world = _world()
    world["projects"][1]["services"] = [{"type": "app", "serviceName": "Bad Name"}]
    refused = await http.post("/__emulator/seed", json=world)
    unknown = await http.post(
        "/__emulator/seed", json={"projects": [{"name": "x", "services": [{"type": "box"}]}]}
    )
    twice = await http.post("/__emulator/seed", json={"projects": [{"name": "a"}, {"name": "a"}]})

    assert refused.status_code == 400
    assert refused.json()["error"].startswith(
        "seed: projects.1.services.0 is not a valid app: 1 validation error"
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"].startswith("seed: projects.0.services.0.type must be app or")
    assert twice.json() == {"error": "seed: projects.1.name is missing or already exists"}
    assert emulator.controller.snapshot()["projects"] == {}
