"""Helpers for driving the API in tests."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.kit.db import create_engine
from skypanel.models import ContainerProject, ContainerService, EasypanelServer
from skypanel.servers.service import save as save_server

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A registered user as the tests drive it."""

    email: str
    password: str
    user_id: uuid.UUID
    organization_id: uuid.UUID
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def acting_in(self, organization_id: uuid.UUID | str) -> dict[str, str]:
        return {**self.headers, "X-Organization-Id": str(organization_id)}


async def register(http: httpx.AsyncClient, email: str | None = None) -> Account:
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    password = PASSWORD
    response = await http.post(
        "/api/auth/register", json={"email": email, "password": password, "name": "Test User"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(
        email=email,
        password=password,
        user_id=uuid.UUID(body["user"]["id"]),
        organization_id=uuid.UUID(body["organization"]["id"]),
        access_token=body["accessToken"],
        refresh_token=body["refreshToken"],
    )


async def make_admin(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> Account:
    account = await register(http)
    async with sessions() as session:
        await session.execute(
            text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": account.user_id}
        )
        await session.commit()
    response = await http.post(
        "/api/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    account.access_token = response.json()["accessToken"]
    return account


class TickingClock:
    """A clock that advances by one second on every reading, from a chosen start."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


@contextmanager
def clock_at(source: Callable[[], datetime]) -> Iterator[None]:
    previous = clock.set_source(source)
    try:
        yield
    finally:
        clock.set_source(previous)


async def credit(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, cents: int) -> None:
    """Put money in an organization's wallet (as a top-up would)."""
    from skypanel.wallet import service as wallet

    async with sessions() as session:
        await wallet.post(
            session,
            org,
            kind="credit",
            amount_cents=cents,
            description="Top-up",
            idempotency_key=f"test-credit-{uuid.uuid4()}",
        )
        await session.commit()


async def balance(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> int:
    async with sessions() as session:
        value = await session.scalar(
            text("SELECT balance_cents FROM wallets WHERE organization_id = :org"), {"org": org}
        )
    return int(value)


async def count(sessions: async_sessionmaker[AsyncSession], table: str, **where: object) -> int:
    clause = " AND ".join(f"{column} = :{column}" for column in where) or "true"
    async with sessions() as session:
        value = await session.scalar(text(f"SELECT count(*) FROM {table} WHERE {clause}"), where)
    return int(value)


async def make_plan(
    sessions: async_sessionmaker[AsyncSession],
    *,
    price_cents: int = 1000,
    cpu: str = "2",
    memory_gb: str = "4",
    storage_gb: int = 20,
    containers: int = 5,
    name: str = "Starter",
) -> uuid.UUID:

    from skypanel.models import ContainerPlan

    plan = ContainerPlan(
        id=uuid.uuid4(),
        name=name,
        price_monthly_cents=price_cents,
        max_cpu_cores=Decimal(cpu),
        max_memory_gb=Decimal(memory_gb),
        max_storage_gb=storage_gb,
        max_containers=containers,
    )
    async with sessions() as session:
        session.add(plan)
        await session.commit()
    return plan.id


async def subscribed(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    account: Account,
    **plan: Any,
) -> uuid.UUID:
    """Credit the account's organization and subscribe it to a new plan; returns the plan id."""
    plan_id = await make_plan(sessions, **plan)
    await credit(sessions, account.organization_id, 100_000)
    response = await client.post(
        "/api/containers/subscription", headers=account.headers, json={"planId": str(plan_id)}
    )
    assert response.status_code == 201, response.text
    return plan_id


async def services_url(client: httpx.AsyncClient, account: Account) -> str:
    """The services collection of the account's only project (the one its subscription made)."""
    [project] = (await client.get("/api/containers/projects", headers=account.headers)).json()
    return f"/api/containers/projects/{project['projectName']}/services"


async def configure_server(
    sessions: async_sessionmaker[AsyncSession], base_url: str, token: str
) -> None:
    """Make an (emulated) Easypanel the default server, committed (for live-client tests)."""
    from skypanel.servers.service import save

    async with sessions() as session:
        await save(session, None, url=base_url, api_key=token, dialect="orpc", result=None)
        await session.commit()


@asynccontextmanager
async def live_customer(
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    cents: int,
) -> AsyncIterator[Account]:
    """A registered customer with `cents` in the wallet and the emulator as the default server,
    all committed (for live-client tests); the emulator is reset before and after."""
    easypanel.controller.reset()
    await configure_server(sessions, easypanel.base_url, easypanel.token)
    account = await register(http)
    await credit(sessions, account.organization_id, cents)
    yield account
    easypanel.controller.reset()


async def customer_logins_on(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Give organizations their own Easypanel login (off by default) for the tests about it."""
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO platform_settings (key, value) VALUES"
                " ('customer_easypanel_logins', 'true')"
            )
        )
        await session.commit()


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def end_backend(database_url: str, pid: object) -> None:
    """PostgreSQL ends the backend `pid` (as a restart or failover would end a connection), from
    a connection of its own."""
    other = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with other.connect() as admin:
            ended = await admin.scalar(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
            )
        assert ended is True
    finally:
        await other.dispose()


async def configure_emulator(
    sessions: async_sessionmaker[AsyncSession], easypanel: RunningEmulator
) -> EasypanelServer:
    """The emulator configured as the default Easypanel server."""
    async with sessions() as session:
        configured = await save_server(
            session,
            None,
            url=easypanel.base_url,
            api_key=easypanel.token,
            dialect="orpc",
            result=None,
        )
        await session.commit()
    return configured


async def add_service(
    sessions: async_sessionmaker[AsyncSession],
    account: Account,
    status: str = "running",
    *,
    project: str | None = None,
) -> None:
    """An app `web` in one of the account's projects (its first when none is named), as
    recorded: nothing is deployed."""
    query = select(ContainerProject).where(
        ContainerProject.organization_id == account.organization_id
    )
    if project is not None:
        query = query.where(ContainerProject.project_name == project)
    async with sessions() as session:
        found = await session.scalar(query.order_by(ContainerProject.created_at).limit(1))
        assert found is not None, f"{account.email} has no project {project or ''}"
        session.add(
            ContainerService(
                organization_id=account.organization_id,
                project_id=found.id,
                service_name="web",
                easypanel_service_name="web",
                service_type="app",
                status=status,
                cpu_limit=Decimal("0.25"),
                memory_limit_gb=Decimal("0.25"),
                storage_limit_gb=Decimal("1"),
                configuration={"image": "nginx:1.27"},
            )
        )
        await session.commit()


class Paused:
    """Stands in for `real`: its first call pauses until `release` is set, after the real call
    (still holding the locks it took) when `after`, before it otherwise."""

    def __init__(self, real: Callable[..., Awaitable[Any]], *, after: bool) -> None:
        self.real = real
        self.after = after
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, *args: Any) -> Any:
        first = not self.reached.is_set()
        if first and not self.after:
            await self._pause()
        result = await self.real(*args)
        if first and self.after:
            await self._pause()
        return result

    async def _pause(self) -> None:
        self.reached.set()
        await self.release.wait()


WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def waiting_on_a_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Until some transaction of the test database waits for a row lock."""
    for _ in range(100):
        async with sessions() as session:
            if await session.scalar(text(WAITING_ON_A_LOCK)):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no transaction ever waited for a lock")
