"""Contract tests: the real client against the emulator over loopback HTTP, in both dialects.

Every request the client sends is kept (`sent_requests`) so `test_conformance.py`, which runs
last, can check each body against the server's own schemas in ``../shared/easypanel/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from skypanel.easypanel import EasypanelClient
from skypanel.emulator import RecordedRequest, RunningEmulator, running_emulators
from tests.easypanel._support import DEPLOY_DELAY, FAST_RETRIES, FAST_TIMEOUTS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance_exempt: the test sends invalid bodies on purpose"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The conformance test reads what the other tests sent, so it runs after them."""
    items.sort(key=lambda item: item.path.name == "test_conformance.py")


@pytest.fixture(scope="session")
def emulators() -> Iterator[dict[str, RunningEmulator]]:
    with running_emulators(manual_clock=True, deploy_delay=DEPLOY_DELAY) as running:
        yield dict(running)


@pytest.fixture(scope="session")
def sent_requests() -> list[RecordedRequest]:
    return []


@pytest.fixture(params=["orpc", "trpc"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest,
    emulators: dict[str, RunningEmulator],
    dialect: str,
    sent_requests: list[RecordedRequest],
) -> Iterator[RunningEmulator]:
    running = emulators[dialect]
    running.controller.reset()
    yield running
    if request.node.get_closest_marker("conformance_exempt") is None:
        sent_requests.extend(running.controller.requests())
    running.controller.reset()


@pytest.fixture
async def client(emulator: RunningEmulator) -> AsyncIterator[EasypanelClient]:
    async with EasypanelClient(
        emulator.base_url, emulator.token, retries=FAST_RETRIES, timeouts=FAST_TIMEOUTS
    ) as easypanel:
        yield easypanel
