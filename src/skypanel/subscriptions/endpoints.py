from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts.auth import verified_user
from skypanel.activity.service import record
from skypanel.http import idempotency
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.kit import clock
from skypanel.kit.context import current_request_id
from skypanel.kit.crypto import decrypt_secret
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.models import ContainerPlan, ContainerSubscription, EasypanelServer
from skypanel.organizations.auth import CurrentOrg
from skypanel.plans.schemas import PlanOut
from skypanel.subscriptions import cancellation, repository, service
from skypanel.subscriptions.provisioning import password_place
from skypanel.subscriptions.schemas import (
    CancellationOut,
    CycleOut,
    CyclePage,
    EasypanelLoginOut,
    LoginSecretOut,
    Meta,
    PlanChangeOut,
    ProjectBrief,
    SubscribeIn,
    SubscribeOut,
    SubscriptionOut,
)

router = APIRouter(prefix="/api/containers", tags=["subscription"])


async def subscription_view(
    session: AsyncSession, subscription: ContainerSubscription
) -> SubscriptionOut:
    plan = await session.get(ContainerPlan, subscription.plan_id)
    return SubscriptionOut(
        id=subscription.id,
        organization_id=subscription.organization_id,
        plan_id=subscription.plan_id,
        plan=PlanOut.model_validate(plan),
        status=subscription.status,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        grace_until=subscription.grace_until,
        suspended_at=subscription.suspended_at,
        cancelled_at=subscription.cancelled_at,
        provisioning_status=subscription.provisioning_status,
        provisioning_error=subscription.provisioning_error,
        easypanel=_login(subscription),
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


def _login(subscription: ContainerSubscription) -> EasypanelLoginOut:
    return EasypanelLoginOut(
        email=subscription.easypanel_user_email,
        user_id=subscription.easypanel_user_id,
        ready=subscription.easypanel_user_id is not None,
    )


def _meta(started: float) -> Meta:
    return Meta(
        request_id=current_request_id(),
        timestamp=clock.now(),
        duration_ms=round((time.perf_counter() - started) * 1000),
    )


@router.get("/subscription", response_model=SubscriptionOut, responses=responses(401, 404))
async def get_subscription(org: CurrentOrg, session: Session) -> SubscriptionOut:
    """The organization's subscription: plan, status, period and provisioning state."""
    subscription = await repository.live(session, org.id)
    if subscription is None:
        raise service.NoSubscription("The organization has no subscription")
    return await subscription_view(session, subscription)


@router.post(
    "/subscription",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscribeOut,
    responses=responses(401, 402, 403, 404, 409, 422, 503),
    dependencies=[Depends(verified_user)],
)
async def subscribe(
    body: SubscribeIn,
    org: CurrentOrg,
    session: Session,
    settings: AppSettings,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Subscribe to a plan, paying the first month from the wallet.

    Send an `Idempotency-Key` header to make retries safe: the key is taken in this request's
    own transaction, so it is kept with the charge or not at all. Provisioning on Easypanel (the
    organization's login and first project) follows once the charge commits; the subscription's
    `provisioningStatus` says when it is ready.
    """
    started = time.perf_counter()
    claim = None
    if idempotency_key:
        outcome = await idempotency.claim(
            session, org.id, "subscribe", idempotency_key, body.model_dump(mode="json")
        )
        if isinstance(outcome, idempotency.Replay):
            return JSONResponse(
                outcome.body, outcome.status, headers={"Idempotent-Replayed": "true"}
            )
        claim = outcome
    result = await service.subscribe(session, settings, org, body.plan_id, body.region)
    subscription = result.subscription
    projects = await repository.projects(session, org.id)
    out = SubscribeOut(
        subscription=await subscription_view(session, subscription),
        easypanel_user=_login(subscription) if subscription.easypanel_user_email else None,
        projects=[ProjectBrief.model_validate(p) for p in projects],
        billing_cycle=CycleOut.model_validate(result.cycle),
        meta=_meta(started),
    )
    payload = out.model_dump(mode="json")
    if claim is not None:
        await idempotency.store(session, claim, status.HTTP_201_CREATED, payload)
    return JSONResponse(payload, status.HTTP_201_CREATED)


@router.put(
    "/subscription", response_model=PlanChangeOut, responses=responses(401, 402, 403, 404, 409, 422)
)
async def change_plan(body: SubscribeIn, org: CurrentOrg, session: Session) -> PlanChangeOut:
    """Upgrade or downgrade now, prorated by the second for the rest of the period."""
    subscription, credited, charged = await service.change_plan(session, org, body.plan_id)
    return PlanChangeOut(
        subscription=await subscription_view(session, subscription),
        credited=credited,
        charged=charged,
    )


@router.delete(
    "/subscription",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CancellationOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def cancel(
    org: CurrentOrg,
    session: Session,
    confirm: Annotated[str | None, Query(description="The organization's slug")] = None,
) -> CancellationOut:
    """Cancel: refund the unused part of the period (at once) and delete every project and
    service on Easypanel (queued: `pendingDeletions` operations follow).

    With anything deployed, the request must confirm with `?confirm=<organization slug>`.
    """
    started = time.perf_counter()
    result = await cancellation.cancel(session, org, confirm)
    return CancellationOut(
        refund_amount=result.refund_cents,
        projects_deleted=result.projects,
        services_deleted=result.services,
        wallet_credited=result.refund_cents > 0,
        pending_deletions=len(result.operations),
        meta=_meta(started),
    )


@router.get("/billing/cycles", response_model=CyclePage, responses=responses(401, 404, 422))
async def list_cycles(
    org: CurrentOrg,
    session: Session,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> CyclePage:
    """Billing history, newest first."""
    rows = await repository.cycles_page(session, org.id, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, limit)
    return CyclePage(items=[CycleOut.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get(
    "/subscription/easypanel-login",
    response_model=LoginSecretOut,
    responses=responses(401, 403, 404),
)
async def reveal_login(org: CurrentOrg, session: Session) -> LoginSecretOut:
    """The organization's own Easypanel login and password (owners and admins; audited)."""
    org.require("owner", "admin")
    subscription = await repository.live(session, org.id)
    if subscription is None or subscription.easypanel_password_encrypted is None:
        raise service.NoSubscription("The organization has no Easypanel login")
    server_url = await _server_url(session, subscription)
    await record(
        session,
        "container.subscription.reveal_login",
        "Easypanel password revealed",
        organization_id=org.id,
        user_id=org.user.id,
        entity_type="container_subscription",
        entity_id=subscription.id,
    )
    assert subscription.easypanel_user_email is not None
    return LoginSecretOut(
        email=subscription.easypanel_user_email,
        password=decrypt_secret(
            subscription.easypanel_password_encrypted, password_place(subscription.id)
        ),
        url=server_url,
    )


async def _server_url(session: AsyncSession, subscription: ContainerSubscription) -> str:
    url = await session.scalar(
        select(EasypanelServer.api_url).where(EasypanelServer.id == subscription.server_id)
    )
    return url or ""
