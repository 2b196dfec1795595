"""Driving subscriptions through time: subscribe at a chosen moment, run billing at others."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.schemas import AppSpec, ImageSource, PostgresSpec
from skypanel.emulator import RunningEmulator
from skypanel.models import ContainerProject, ContainerService
from tests.conftest import runner_of
from tests.support import Account, clock_at


async def subscribe_at(
    client: httpx.AsyncClient, account: Account, plan: uuid.UUID, at: datetime
) -> dict[str, object]:
    with clock_at(lambda: at):
        response = await client.post(
            "/api/containers/subscription", headers=account.headers, json={"planId": str(plan)}
        )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def bill_at(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], at: datetime
) -> billing.RunReport:
    """A billing run at `at`, with the operations it queued delivered at once."""
    with clock_at(lambda: at):
        report = await billing.run(sessions, batch=50)
        await runner_of(client).run_all(report.operations)
    return report


async def deploy_workload(
    easypanel: RunningEmulator, sessions: async_sessionmaker[AsyncSession], org: uuid.UUID
) -> tuple[str, list[uuid.UUID]]:
    """An app and a database running in the organization's project, on Easypanel and in the
    database (as deployments will create them), each declaring 0.5 CPU, 0.5 GB and 1 GB."""
    async with sessions() as session:
        project = await session.scalar(
            select(ContainerProject).where(ContainerProject.organization_id == org)
        )
        assert project is not None
        name = project.easypanel_project_name
        ids = []
        for service_name, kind in (("web", "app"), ("db", "postgres")):
            service = ContainerService(
                id=uuid.uuid4(),
                project_id=project.id,
                organization_id=org,
                service_name=service_name,
                easypanel_service_name=service_name,
                service_type=kind,
                status="running",
                cpu_limit=Decimal("0.5"),
                memory_limit_gb=Decimal("0.5"),
                storage_limit_gb=Decimal("1"),
            )
            session.add(service)
            ids.append(service.id)
        await session.commit()
    async with EasypanelClient(easypanel.base_url, easypanel.token) as direct:
        await direct.create_app(
            name, AppSpec(service_name="web", source=ImageSource(image="nginx"))
        )
        await direct.deploy_app(name, "web")
        await direct.create_database(name, PostgresSpec(service_name="db"))
    easypanel.controller.advance(10)
    return name, ids
