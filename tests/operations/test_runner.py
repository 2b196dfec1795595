"""The operation runner on real, separate database connections: every operation ends, one
delivery at a time, in order, whatever its handler raises and whichever worker stops."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelUnavailable
from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import EasypanelOperation
from skypanel.operations.service import LEASE, Handler, OperationContext, Runner, enqueue
from skypanel.servers.clients import ClientPool
from tests.support import clock_at, configure_server


class Calls:
    """Handlers for made-up kinds that count their deliveries."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.order: list[str] = []
        self.release = asyncio.Event()

    def handlers(self) -> dict[str, Handler]:
        async def ok(_: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
            self._seen(operation)
            return {}

        async def poison(_: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
            self._seen(operation)
            raise ValueError("serviceName must start with a letter")

        async def flaky(_: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
            self._seen(operation)
            if operation.attempts == 1:
                raise EasypanelUnavailable("Injected failure", procedure="services.app.stop")
            return {}

        async def slow(_: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
            self._seen(operation)
            await self.release.wait()
            return {}

        return {
            "test.ok": Handler(ok),
            "test.poison": Handler(poison),
            "test.flaky": Handler(flaky),
            "test.slow": Handler(slow),
        }

    def _seen(self, operation: EasypanelOperation) -> None:
        self.count[operation.target] = self.count.get(operation.target, 0) + 1
        self.order.append(operation.target)


@pytest.fixture
async def calls() -> Calls:
    return Calls()


@pytest.fixture
async def runner(
    committed: async_sessionmaker[AsyncSession], easypanel: RunningEmulator, calls: Calls
) -> AsyncIterator[Runner]:
    await configure_server(committed, easypanel.base_url, easypanel.token)
    clients = ClientPool(committed)
    yield Runner(committed, clients, calls.handlers())
    await clients.aclose()


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    kind: str,
    target: str,
    subject: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        operation = await enqueue(
            session,
            kind,
            target,
            server_id=None,
            organization_id=None,
            subject=("service", subject) if subject else None,
            after=[("service", after)] if after else [],
            dedupe_key=f"{kind}:{target}",
        )
    return operation.id


async def _state(
    sessions: async_sessionmaker[AsyncSession], operation_id: uuid.UUID
) -> tuple[str, int, str | None]:
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status, attempts, last_error_code FROM easypanel_operations"
                    " WHERE id = :id"
                ),
                {"id": operation_id},
            )
        ).one()
    return row.status, row.attempts, row.last_error_code


async def test_any_exception_ends_the_attempt_and_the_sweep_goes_on(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    poison = await _queue(committed, "test.poison", "tenant-a/db")
    unknown = await _queue(committed, "test.nobody-handles-this", "tenant-a/x")
    healthy = await _queue(committed, "test.ok", "tenant-b/web")

    assert await runner.run_due() == 3

    assert await _state(committed, poison) == ("failed", 1, "INTERNAL_ERROR")
    assert await _state(committed, unknown) == ("failed", 1, "INTERNAL_ERROR")
    assert await _state(committed, healthy) == ("succeeded", 1, None)
    assert await runner.run_due() == 0
    assert calls.count == {"tenant-a/db": 1, "tenant-b/web": 1}


async def test_one_subjects_operations_are_delivered_in_order_even_across_retries(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    service = uuid.uuid4()
    stop = await _queue(committed, "test.flaky", "stop", subject=service)
    start = await _queue(committed, "test.ok", "start", subject=service)
    other = await _queue(committed, "test.ok", "someone-else", subject=uuid.uuid4())

    assert await runner.run_all([stop, start, other]) == ["pending", None, "succeeded"]
    assert calls.order == ["stop", "someone-else"]

    later = clock.now() + timedelta(hours=1)
    with clock_at(lambda: later):
        await runner.run_due()
    assert calls.order == ["stop", "someone-else", "stop", "start"]
    assert await _state(committed, stop) == ("succeeded", 2, None)
    assert await _state(committed, start) == ("succeeded", 1, None)


async def test_an_operation_waits_for_its_dependency_and_fails_with_it(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    project, doomed = uuid.uuid4(), uuid.uuid4()
    create = await _queue(committed, "test.flaky", "project", subject=project)
    deploy = await _queue(committed, "test.ok", "app", subject=uuid.uuid4(), after=project)
    broken = await _queue(committed, "test.poison", "broken", subject=doomed)
    orphan = await _queue(committed, "test.ok", "orphan", subject=uuid.uuid4(), after=doomed)

    assert await runner.run_all([create, deploy, broken]) == ["pending", None, "failed"]
    assert await _state(committed, orphan) == ("failed", 0, "DEPENDENCY_FAILED")
    later = clock.now() + timedelta(hours=1)
    with clock_at(lambda: later):
        await runner.run_due()
    assert calls.order == ["project", "broken", "project", "app"]
    assert await _state(committed, deploy) == ("succeeded", 1, None)


async def test_a_long_delivery_keeps_its_lease_and_is_never_delivered_twice(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    """The delivery outlives its lease several times over; a second worker sweeping meanwhile
    never takes it over, because the lease is renewed while the work runs."""
    working = Runner(
        committed,
        runner.clients,
        runner.handlers,
        lease=timedelta(seconds=0.5),
        heartbeat_seconds=0.1,
    )
    other_worker = Runner(committed, runner.clients, runner.handlers, lease=timedelta(seconds=0.5))
    slow = await _queue(committed, "test.slow", "deploy")
    delivery = asyncio.create_task(working.run(slow))
    for _ in range(8):
        await asyncio.sleep(0.25)
        assert await other_worker.run_due() == 0
    calls.release.set()
    assert await delivery == "succeeded"
    assert calls.count == {"deploy": 1}
    assert await _state(committed, slow) == ("succeeded", 1, None)


async def test_a_delivery_whose_worker_died_is_taken_up_after_its_lease(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    slow = await _queue(committed, "test.slow", "deploy")
    crashed = asyncio.create_task(runner.run(slow))
    await asyncio.sleep(0.2)
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed
    assert await _state(committed, slow) == ("running", 1, None)
    assert await runner.run_due() == 0

    calls.release.set()
    later = clock.now() + LEASE + timedelta(seconds=61)
    with clock_at(lambda: later):
        assert await runner.run_due() == 1
    assert await _state(committed, slow) == ("succeeded", 2, None)
    assert calls.count == {"deploy": 2}


async def test_a_recorded_outcome_needs_the_lease(
    committed: async_sessionmaker[AsyncSession], runner: Runner, calls: Calls
) -> None:
    """A delivery that lost its lease (another took the operation over) records nothing."""
    slow = await _queue(committed, "test.slow", "deploy")
    first = asyncio.create_task(runner.run(slow))
    await asyncio.sleep(0.2)
    async with committed() as session:
        await session.execute(
            text("UPDATE easypanel_operations SET attempts = 2 WHERE id = :id"), {"id": slow}
        )
        await session.commit()
    calls.release.set()
    assert await first is None
    assert await _state(committed, slow) == ("running", 2, None)
