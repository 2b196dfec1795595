from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from skypanel.emulator import RunningEmulator
from tests.support import clock_at


@pytest.fixture
def shared_time(easypanel: RunningEmulator) -> Iterator[None]:
    """The panel reads the emulator's clock, so the sync's claims and the actions' times agree."""
    world = easypanel.controller.world
    with clock_at(lambda: datetime.fromtimestamp(world.clock.now(), UTC)):
        yield
