"""What a move reads of the organization: its projects, services, custom domains and backup
schedules, each in the order it was created."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import BackupSchedule, ContainerProject, ContainerService, ServiceDomain
from skypanel.moves._steps import Records


async def records(session: AsyncSession, organization_id: uuid.UUID) -> Records:
    projects = (
        await session.scalars(
            select(ContainerProject)
            .where(ContainerProject.organization_id == organization_id)
            .order_by(ContainerProject.created_at, ContainerProject.id)
        )
    ).all()
    services = (
        await session.scalars(
            select(ContainerService)
            .where(ContainerService.organization_id == organization_id)
            .order_by(ContainerService.created_at, ContainerService.id)
        )
    ).all()
    ids = [s.id for s in services]
    domains = (
        await session.scalars(
            select(ServiceDomain)
            .where(
                ServiceDomain.service_id.in_(ids),
                ServiceDomain.status.in_(("verified", "attached")),
            )
            .order_by(ServiceDomain.created_at, ServiceDomain.id)
        )
    ).all()
    schedules = (
        await session.scalars(
            select(BackupSchedule)
            .where(
                BackupSchedule.organization_id == organization_id,
                BackupSchedule.service_id.in_(ids),
            )
            .order_by(BackupSchedule.created_at, BackupSchedule.id)
        )
    ).all()
    return Records(projects, services, domains, schedules)
