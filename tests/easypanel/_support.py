"""Helpers shared by the contract tests."""

from __future__ import annotations

from typing import Any

from skypanel.easypanel import RetryPolicy, Timeouts
from skypanel.emulator import RunningEmulator

FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005)
FAST_TIMEOUTS = Timeouts(connect=1.0, read=2.0, write=2.0, pool=1.0, deploy_read=3.0)
DEPLOY_DELAY = 5.0


def bodies(emulator: RunningEmulator, procedure: str) -> list[Any]:
    """The inputs the emulator received for one procedure, oldest first."""
    return [r.input for r in emulator.controller.requests(procedure)]
