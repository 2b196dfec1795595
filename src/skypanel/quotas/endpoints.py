from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.http.caching import CachedRead
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.schema import ApiModel
from skypanel.kit.uow import release
from skypanel.models import ContainerPlan
from skypanel.organizations.auth import CurrentOrg
from skypanel.organizations.context import OrgContext
from skypanel.quotas import service
from skypanel.quotas.storage import measured_storage, storage_rows
from skypanel.subscriptions import repository as subscriptions
from skypanel.subscriptions.service import NoSubscription

router = APIRouter(prefix="/api/containers/subscription", tags=["subscription"])
WARNING_PERCENT = 80
UNITS = {"cpuCores": "cores", "memoryGb": "GB", "storageGb": "GB", "containers": "containers"}


class QuotaOut(ApiModel):
    quota: str
    unit: str
    used: float
    limit: float
    percentage: float
    warning: bool


class UsageOut(ApiModel):
    quotas: list[QuotaOut]
    storage_measured_gb: float | None
    over_quota: bool


USAGE = CachedRead("usage", 60.0, TypeAdapter(UsageOut), path="/api/containers/subscription/usage")


async def usage_of(request: Request, org: OrgContext, session: AsyncSession) -> UsageOut:
    """Used, limit and percentage of each quota (cached a minute)."""
    return await USAGE.value(request, USAGE.for_org(org.id), lambda: _usage(request, org, session))


@router.get("/usage", response_model=UsageOut, responses=responses(401, 404))
async def usage(request: Request, org: CurrentOrg, session: Session) -> Response:
    """Used, limit and percentage of each quota; `warning` from 80 % (cached a minute)."""
    return await USAGE.response(
        request, USAGE.for_org(org.id), lambda: _usage(request, org, session)
    )


async def _usage(request: Request, org: OrgContext, session: AsyncSession) -> UsageOut:
    subscription = await subscriptions.live(session, org.id)
    if subscription is None:
        raise NoSubscription("The organization has no subscription")
    plan = await session.get(ContainerPlan, subscription.plan_id)
    assert plan is not None
    used = (await service.usage(session, org.id)).by_quota()
    quotas = []
    for quota, limit in service.limits(plan).items():
        percentage = round(float(used[quota]) / float(limit) * 100, 1)
        quotas.append(
            QuotaOut(
                quota=quota,
                unit=UNITS[quota],
                used=float(used[quota]),
                limit=float(limit),
                percentage=percentage,
                warning=percentage >= WARNING_PERCENT,
            )
        )
    services = await storage_rows(session, org.id)
    await release(session)
    return UsageOut(
        quotas=quotas,
        storage_measured_gb=await measured_storage(request, services),
        over_quota=any(q.used > q.limit for q in quotas),
    )
