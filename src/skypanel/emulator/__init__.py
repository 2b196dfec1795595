"""An Easypanel server in a box, for tests, demos and benchmarks (issue 3).

with running_emulator(dialect="trpc", manual_clock=True) as emulator:
    client = EasypanelClient(emulator.base_url, emulator.token)
    ...
    emulator.controller.advance(5)        # pending deploys finish
    emulator.controller.fail("services.app.deployService", status=500)
"""

from __future__ import annotations

from skypanel.emulator._controller import EmulatorController
from skypanel.emulator._faults import FailRule, HangRule, RecordedRequest
from skypanel.emulator._runner import (
    DEFAULT_TOKEN,
    RunningEmulator,
    running_emulator,
    running_emulators,
    serve_emulator,
)
from skypanel.emulator._world import ADMIN_EMAIL
from skypanel.emulator.app import NodeSize, create_emulator_app

__all__ = [
    "ADMIN_EMAIL",
    "DEFAULT_TOKEN",
    "EmulatorController",
    "FailRule",
    "HangRule",
    "NodeSize",
    "RecordedRequest",
    "RunningEmulator",
    "create_emulator_app",
    "running_emulator",
    "running_emulators",
    "serve_emulator",
]
