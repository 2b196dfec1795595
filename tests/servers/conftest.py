"""Two emulated Easypanel servers of different sizes, each on its own loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from skypanel.emulator import NodeSize, RunningEmulator, running_emulator


@pytest.fixture(scope="session")
def big_server() -> Iterator[RunningEmulator]:
    """8 vCPU, 16 GB of memory, 100 GB of disk."""
    node = NodeSize(cpus=8, memory_mb=16 * 1024, disk_gb=100)
    with running_emulator(token="big-server-token", manual_clock=True, node=node) as running:
        yield running


@pytest.fixture(scope="session")
def small_server() -> Iterator[RunningEmulator]:
    """4 vCPU, 8 GB of memory, 100 GB of disk."""
    node = NodeSize(cpus=4, memory_mb=8 * 1024, disk_gb=100)
    with running_emulator(token="small-server-token", manual_clock=True, node=node) as running:
        yield running


@pytest.fixture
def fresh(big_server: RunningEmulator, small_server: RunningEmulator) -> Iterator[None]:
    """Both emulators empty and fault-free before and after the test."""
    for emulator in (big_server, small_server):
        emulator.controller.reset()
    yield
    for emulator in (big_server, small_server):
        emulator.controller.reset()
