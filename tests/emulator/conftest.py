"""Emulator tests speak raw HTTP, so they check the wire as a real client would see it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from skypanel.emulator import RunningEmulator, running_emulators

DEPLOY_DELAY = 4.0


@pytest.fixture(scope="session")
def emulators() -> Iterator[dict[str, RunningEmulator]]:
    with running_emulators(manual_clock=True, deploy_delay=DEPLOY_DELAY) as running:
        yield dict(running)


def _fresh(running: RunningEmulator) -> Iterator[RunningEmulator]:
    running.controller.reset()
    yield running
    running.controller.reset()


def _connect(running: RunningEmulator) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {running.token}"}
    return httpx.AsyncClient(base_url=running.base_url, headers=headers, timeout=5)


@pytest.fixture(params=["orpc", "trpc"])
def emulator(
    request: pytest.FixtureRequest, emulators: dict[str, RunningEmulator]
) -> Iterator[RunningEmulator]:
    yield from _fresh(emulators[request.param])


@pytest.fixture
def orpc(emulators: dict[str, RunningEmulator]) -> Iterator[RunningEmulator]:
    yield from _fresh(emulators["orpc"])


@pytest.fixture
def trpc(emulators: dict[str, RunningEmulator]) -> Iterator[RunningEmulator]:
    yield from _fresh(emulators["trpc"])


@pytest.fixture
async def http(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with _connect(emulator) as client:
        yield client


@pytest.fixture
async def orpc_http(orpc: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with _connect(orpc) as client:
        yield client


@pytest.fixture
async def trpc_http(trpc: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with _connect(trpc) as client:
        yield client
