"""Moving an organization to another server (an admin's tool for draining one).

A move is planned from the records: the organization's projects are created on the target, then
its services are carried over in the order `_steps` explains (stateless apps recreated first;
for each project with databases, the apps that could write to them stopped on the source, each
database backed up there, created on the target and restored, its backup schedules saved again,
then those apps recreated), each custom domain attached again on the target; then the records
switch to the target under row locks, and the old projects are removed from the source. Every
step is a persisted operation, of the move (`("move", id)`) or of the service it reuses the
handlers of, each waiting for the steps before it (`depends_on`): they run one at a time in
order, each resumes after a crash, and each treats "already exists" on the target (or "stopped"
on the source) as its own earlier work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.backups.service import database_name, storage
from skypanel.easypanel import DATABASE_TYPES
from skypanel.kit import clock
from skypanel.kit.errors import Conflict, InvalidInput, NotFound
from skypanel.models import (
    BackupRun,
    ContainerPlan,
    ContainerProject,
    ContainerSubscription,
    EasypanelServer,
    OrganizationMove,
    ServicePort,
)
from skypanel.moves._steps import Downtime, Step, service_steps
from skypanel.moves.repository import records
from skypanel.moves.schemas import DowntimeOut, MoveOut, PlanOut, StepOut
from skypanel.operations.service import enqueue
from skypanel.servers import repository
from skypanel.servers.placement import room
from skypanel.servers.repository import Reserved


class NothingToMove(NotFound):
    code = "NOTHING_TO_MOVE"


class TargetNotUsable(InvalidInput):
    code = "MOVE_TARGET_NOT_USABLE"


class TargetFull(Conflict):
    code = "MOVE_TARGET_FULL"


class MoveUnfinished(Conflict):
    code = "MOVE_IN_PROGRESS"


class NamesTaken(Conflict):
    code = "MOVE_NAMES_TAKEN"


class PortsTaken(Conflict):
    code = "MOVE_PORTS_TAKEN"


class DatabasesNeedStorage(Conflict):
    code = "MOVE_NEEDS_BACKUP_STORAGE"


@dataclass(frozen=True, slots=True)
class Plan:
    subscription: ContainerSubscription
    source: EasypanelServer
    target: EasypanelServer
    steps: list[Step]
    downtimes: list[Downtime]


async def _subscription(session: AsyncSession, organization_id: uuid.UUID) -> ContainerSubscription:
    found = await session.scalar(
        select(ContainerSubscription)
        .where(
            ContainerSubscription.organization_id == organization_id,
            ContainerSubscription.status != "cancelled",
            ContainerSubscription.server_id.is_not(None),
        )
        .with_for_update()
    )
    if found is None:
        raise NothingToMove("This organization has no live subscription placed on a server")
    return found


async def _check_target(
    session: AsyncSession, subscription: ContainerSubscription, target_id: uuid.UUID
) -> EasypanelServer:
    target = await repository.get(session, target_id)
    if target is None or target.state == "retired":
        raise TargetNotUsable("No server has this id", field="serverId")
    if target.id == subscription.server_id:
        raise TargetNotUsable("The organization is on this server already", field="serverId")
    if target.state != "active":
        raise TargetNotUsable(
            f"The server {target.name} is {target.state}; only an active server takes a move",
            field="serverId",
        )
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    reserved = (await repository.reservations(session)).get(target.id, Reserved())
    if not room(target, reserved).fits(plan):
        raise TargetFull(
            f"The server {target.name} has no room for this organization's plan",
            field="serverId",
        )
    return target


async def _check_names(
    session: AsyncSession, projects: Sequence[ContainerProject], target: EasypanelServer
) -> None:
    """Each project keeps its Easypanel name, which must be free on the target."""
    taken = (
        await session.scalars(
            select(ContainerProject.easypanel_project_name).where(
                ContainerProject.server_id == target.id,
                ContainerProject.easypanel_project_name.in_(
                    [p.easypanel_project_name for p in projects]
                ),
            )
        )
    ).all()
    if taken:
        raise NamesTaken(
            f"The server {target.name} has projects of these names already: {', '.join(taken)}",
            field="serverId",
        )


async def _check_ports(
    session: AsyncSession, service_ids: list[uuid.UUID], target: EasypanelServer
) -> None:
    """Each published port must be free on the target: ports are unique per server."""
    theirs = select(ServicePort.port, ServicePort.protocol).where(
        ServicePort.server_id == target.id
    )
    taken = (
        await session.execute(
            select(ServicePort.port, ServicePort.protocol).where(
                ServicePort.service_id.in_(service_ids),
                tuple_(ServicePort.port, ServicePort.protocol).in_(theirs),
            )
        )
    ).all()
    if taken:
        listed = ", ".join(f"{port}/{protocol}" for port, protocol in taken)
        raise PortsTaken(
            f"The server {target.name} has these published ports in use already: {listed}",
            field="serverId",
        )


async def plan(session: AsyncSession, organization_id: uuid.UUID, target_id: uuid.UUID) -> Plan:
    """What a move of the organization to the server would do, refusing a target that cannot
    take it (not active, the current one, no room) and databases without a backup storage."""
    subscription = await _subscription(session, organization_id)
    target = await _check_target(session, subscription, target_id)
    assert subscription.server_id is not None
    source = await repository.get(session, subscription.server_id)
    assert source is not None
    found = await records(session, organization_id)
    projects, services = found.projects, found.services
    steps: list[Step] = []
    for project in projects:
        name = project.easypanel_project_name
        steps.append(
            Step(
                "project",
                "easypanel.move.project",
                f"Create the project {name} on {target.name}",
                name,
                True,
                project,
            )
        )
    login = subscription.easypanel_user_email
    if login is not None and subscription.easypanel_user_id is not None:
        steps.append(
            Step(
                "login",
                "easypanel.move.login",
                f"Create the organization's Easypanel login {login} on {target.name}",
                login,
                True,
                subject="subscription",
            )
        )
    carried, downtimes = service_steps(source, target, found)
    steps.extend(carried)
    steps.append(
        Step(
            "switch",
            "easypanel.move.switch",
            f"Switch the records and the published ports to {target.name}",
            subscription.id.hex,
            True,
        )
    )
    for project in projects:
        name = project.easypanel_project_name
        steps.append(
            Step(
                "cleanup",
                "easypanel.move.cleanup",
                f"Remove the project {name} and its services from {source.name}",
                name,
                False,
                project,
            )
        )
    if login is not None and subscription.easypanel_user_id is not None:
        steps.append(
            Step(
                "cleanup",
                "easypanel.move.logout",
                f"Remove the organization's Easypanel login {login} from {source.name}",
                login,
                False,
            )
        )
    await _check_names(session, projects, target)
    await _check_ports(session, [s.id for s in services], target)
    if any(s.service_type in DATABASE_TYPES for s in services) and await storage(session) is None:
        raise DatabasesNeedStorage(
            "The organization has databases, which move by backup and restore: set up the"
            " backup storage first",
            field="serverId",
        )
    return Plan(subscription, source, target, steps, downtimes)


async def start(
    session: AsyncSession, organization_id: uuid.UUID, target_id: uuid.UUID
) -> OrganizationMove:
    """Record the move and queue its steps, in order, in the caller's transaction."""
    planned = await plan(session, organization_id, target_id)
    if await session.scalar(
        select(OrganizationMove.id).where(
            OrganizationMove.organization_id == organization_id,
            OrganizationMove.state.in_(("pending", "running")),
        )
    ):
        raise MoveUnfinished("A move of this organization is not finished yet")
    move = OrganizationMove(
        organization_id=organization_id,
        source_server_id=planned.source.id,
        target_server_id=planned.target.id,
        state="pending",
        steps_total=len(planned.steps),
        steps_done=0,
    )
    session.add(move)
    await session.flush()
    subjects = {"move": move.id, "subscription": planned.subscription.id}
    waited: list[tuple[str, uuid.UUID]] = [("move", move.id)]
    backup = ""
    for index, step in enumerate(planned.steps):
        payload: dict[str, Any] = {"move": str(move.id), "step": index}
        if step.project is not None:
            payload["projectId"] = str(step.project.id)
        if step.service is not None:
            payload |= {
                "serviceId": str(step.service.id),
                "type": step.service.service_type,
                "project": step.target.split("/", 1)[0],
                "service": step.service.easypanel_service_name,
            }
        if step.domain is not None:
            payload["domain"] = str(step.domain.id)
        if step.volume is not None:
            payload["volume"] = step.volume
        if step.kind == "easypanel.backup.run":
            backup = str((await _backup_run(session, planned.source, step)).id)
        if step.kind in ("easypanel.backup.run", "easypanel.move.restore"):
            payload["backup"] = backup
        subject = (
            (step.subject, step.service.id)
            if step.subject == "service" and step.service is not None
            else (step.subject, subjects[step.subject])
        )
        await enqueue(
            session,
            step.kind,
            step.target,
            server_id=planned.target.id if step.on_target else planned.source.id,
            organization_id=organization_id,
            payload=payload,
            subject=subject,
            after=waited,
            dedupe_key=f"move:{move.id}:{index}",
            max_attempts=40,
        )
        if subject not in waited:
            waited.append(subject)
    return move


async def _backup_run(session: AsyncSession, source: EasypanelServer, step: Step) -> BackupRun:
    """The backup the move takes of a database on the source (listed with its backups)."""
    assert step.service is not None
    run = BackupRun(
        id=uuid.uuid4(),
        service_id=step.service.id,
        organization_id=step.service.organization_id,
        server_id=source.id,
        kind="database",
        database_name=database_name(step.service),
        requested_at=clock.now(),
        state="pending",
        scheduled=False,
    )
    session.add(run)
    await session.flush()
    return run


async def moves_of(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[OrganizationMove]:
    return (
        await session.scalars(
            select(OrganizationMove)
            .where(OrganizationMove.organization_id == organization_id)
            .order_by(OrganizationMove.created_at.desc())
        )
    ).all()


def plan_out(planned: Plan) -> PlanOut:
    return PlanOut(
        source=planned.source.name,
        target=planned.target.name,
        steps=[
            StepOut(
                kind=step.label,
                description=step.description,
                server=(planned.target if step.on_target else planned.source).name,
            )
            for step in planned.steps
        ],
        downtimes=[
            DowntimeOut(project=d.project, service=d.service, type=d.type, downtime=d.downtime)
            for d in planned.downtimes
        ],
    )


def move_out(move: OrganizationMove) -> MoveOut:
    return MoveOut.model_validate(move, from_attributes=True)
