"""Quota usage as bars: the dashboard's widget and the deploy wizard's check before submitting.

The check only previews; the server still enforces the quota when the form is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from skypanel.models import ContainerPlan
from skypanel.quotas import service as quotas
from skypanel.quotas.endpoints import usage_of
from skypanel.subscriptions import repository as subscriptions
from skypanel.subscriptions.service import NoSubscription
from skypanel.templates.schemas import Blueprint
from skypanel.web.page import Page

LABELS = {
    "cpuCores": "CPU",
    "memoryGb": "Memory",
    "storageGb": "Storage",
    "containers": "Containers",
}
WARNING_PERCENT = 80


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    unit: str
    used: float
    limit: float
    adding: float = 0.0

    @property
    def percentage(self) -> float:
        return 0.0 if not self.limit else min(100.0, self.used / self.limit * 100)

    @property
    def adding_percentage(self) -> float:
        room = 100.0 - self.percentage
        return 0.0 if not self.limit else min(room, self.adding / self.limit * 100)

    @property
    def tone(self) -> str:
        total = (self.used + self.adding) / self.limit * 100 if self.limit else 0.0
        return "bad" if total > 100 else "warn" if total >= WARNING_PERCENT else "ok"


async def usage_bars(page: Page, adding: quotas.Usage | None = None) -> list[Bar] | None:
    """The organization's quotas (None without a subscription), with what a deployment adds."""
    try:
        found = await usage_of(page.request, page.org, page.session)
    except NoSubscription:
        return None
    added = {} if adding is None else adding.by_quota()
    return [
        Bar(LABELS[q.quota], q.unit, q.used, q.limit, float(added.get(q.quota, 0)))
        for q in found.quotas
    ]


async def one_service(page: Page, posted: dict[str, str]) -> quotas.Usage | None:
    """What one more service adds: the limits typed in, else the plan's fair share."""
    subscription = await subscriptions.live(page.session, page.org.id)
    plan = (
        None
        if subscription is None
        else await page.session.get(ContainerPlan, subscription.plan_id)
    )
    if plan is None:
        return None
    default = quotas.fair_share(plan, await quotas.usage(page.session, page.org.id))
    return quotas.Usage(
        cpu_cores=_decimal(posted.get("cpu_cores")) or default.cpu_cores,
        memory_gb=_decimal(posted.get("memory_gb")) or default.memory_gb,
        storage_gb=_decimal(posted.get("storage_gb")) or default.storage_gb,
        containers=1,
    )


def template_services(schema: dict[str, object]) -> quotas.Usage:
    """What a template's services declare, together."""
    services = Blueprint.model_validate(schema).services
    return quotas.Usage(
        cpu_cores=sum((s.resources.cpu_cores for s in services), Decimal(0)),
        memory_gb=sum((s.resources.memory_gb for s in services), Decimal(0)),
        storage_gb=sum((s.resources.storage_gb for s in services), Decimal(0)),
        containers=len(services),
    )


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None
