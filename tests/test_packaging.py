"""The production packaging says only what the program does: the image runs as a non-root user
with the same entry points as the README; compose starts real commands with real settings and
checks real health routes; the systemd units run real commands.

No container engine runs here, so the files are read, not built (the README says how to build)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import httpx
import yaml

from skypanel.cli import app as cli
from skypanel.config import Settings

ROOT = Path(__file__).resolve().parents[1]
HEALTH = re.compile(r"http://127\.0\.0\.1:8000(/[a-z]+)")


def _commands() -> set[str]:
    return {
        command.name or getattr(command.callback, "__name__", "")
        for command in cli.registered_commands
    }


async def _healthy(client: httpx.AsyncClient, text: str) -> list[int]:
    """The answers of the health routes that `text` checks."""
    paths = sorted(set(HEALTH.findall(text)))
    assert paths, "no health check found"
    return [(await client.get(path)).status_code for path in paths]


def _compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return found


async def test_the_image_runs_skypanel_as_a_non_root_user(client: httpx.AsyncClient) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"\]$', dockerfile, re.MULTILINE)
    command = re.search(r'^CMD \["([^"]+)"', dockerfile, re.MULTILINE)

    assert user == ["skypanel"]
    assert entry is not None
    assert entry.group(1) == "skypanel"
    assert command is not None
    assert command.group(1) in _commands()
    assert set(await _healthy(client, dockerfile)) == {200}


async def test_compose_runs_real_commands_with_real_settings_and_health_checks(
    client: httpx.AsyncClient,
) -> None:
    compose = _compose()
    services = compose["services"]
    known = {f"SKYPANEL_{name.upper()}" for name in Settings.model_fields}
    ours = {name: s for name, s in services.items() if s.get("image") == "skypanel:latest"}

    assert set(ours) == {"migrate", "web", "worker"}
    for service in ours.values():
        assert service["command"][0] in _commands()
        assert set(service["environment"]) <= known
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    checks = " ".join(
        " ".join(s["healthcheck"]["test"])
        for s in services.values()
        if "test" in s.get("healthcheck", {})
    )
    assert set(await _healthy(client, checks)) == {200}
    assert {"postgres", "redis"} <= {name for name, s in services.items() if "healthcheck" in s}


def test_the_systemd_units_run_real_commands() -> None:
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    starts = [
        shlex.split(line.split("=", 1)[1])
        for unit in units
        for line in unit.read_text().splitlines()
        if line.startswith(("ExecStart=", "ExecStartPre="))
    ]

    assert [unit.name for unit in units] == ["skypanel-web.service", "skypanel-worker@.service"]
    assert {argv[1] for argv in starts} == {"migrate", "serve", "worker"}
    assert {argv[1] for argv in starts} <= _commands()
