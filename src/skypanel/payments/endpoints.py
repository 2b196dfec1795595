"""Top-ups over HTTP, and the providers' webhooks (authenticated by their signatures, not by a
session)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts.auth import AdminUser, verified_user
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.kit import uow
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.models import AutoRecharge, PaymentGateway
from skypanel.organizations.auth import CurrentOrg
from skypanel.payments import console, recharge, refunds, service
from skypanel.payments.gateways import Gateways
from skypanel.payments.providers import ProviderRefused
from skypanel.payments.schemas import (
    AdminTopUpOut,
    AdminTopUpPage,
    AutoRechargeIn,
    AutoRechargeOut,
    CheckOut,
    GatewayIn,
    GatewayOut,
    ReceivedOut,
    RefundIn,
    RefundOut,
    TopUpIn,
    TopUpOut,
    TopUpPage,
)

router = APIRouter(tags=["payments"])
Provider = Literal["stripe", "paypal"]
WEBHOOK_PATHS = {
    "stripe": "/api/payments/stripe/webhook",
    "paypal": "/api/payments/paypal/webhook",
}

RETURN_PATH = "/wallet/top-ups/{top_up_id}"
"""The page the provider sends the payer back to: it shows how the payment ended."""


def _gateways(request: Request) -> Gateways:
    gateways: Gateways = request.app.state.gateways
    return gateways


@router.post(
    "/api/wallet/top-ups",
    response_model=TopUpOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(verified_user)],
    responses=responses(401, 403, 404, 409, 422, 503),
)
async def start_top_up(
    request: Request, body: TopUpIn, org: CurrentOrg, session: Session, settings: AppSettings
) -> TopUpOut:
    """Start a top-up: answers with the provider's payment page (`checkoutUrl`). The wallet is
    credited when the provider confirms the payment, never before."""
    org.require("owner", "admin")
    gateway = await _gateways(request).get(session, body.provider)
    top_up = await service.start(
        session,
        org,
        gateway,
        body.amount,
        return_url=settings.public_url + RETURN_PATH,
        save_card=body.save_card,
    )
    return TopUpOut.model_validate(top_up)


@router.get("/api/wallet/top-ups", response_model=TopUpPage, responses=responses(401, 404, 422))
async def list_top_ups(
    org: CurrentOrg,
    session: Session,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TopUpPage:
    """The organization's top-ups, newest first, with their status."""
    rows = await service.of_organization(session, org.id, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, limit)
    return TopUpPage(items=[TopUpOut.model_validate(r) for r in items], next_cursor=next_cursor)


@router.get(
    "/api/wallet/top-ups/{top_up_id}", response_model=TopUpOut, responses=responses(401, 404)
)
async def get_top_up(top_up_id: uuid.UUID, org: CurrentOrg, session: Session) -> TopUpOut:
    return TopUpOut.model_validate(await service.get(session, org.id, top_up_id))


@router.post(
    "/api/wallet/top-ups/{top_up_id}/confirm",
    response_model=TopUpOut,
    responses=responses(401, 404, 503),
)
async def confirm_top_up(
    request: Request, top_up_id: uuid.UUID, org: CurrentOrg, session: Session
) -> TopUpOut:
    """Ask the provider how a pending top-up stands (what the return page does), so the payer
    sees the result without waiting for the notification. Only the provider's answer counts."""
    top_up = await service.get(session, org.id, top_up_id)
    if top_up.status == "pending":
        gateway = await _gateways(request).get(session, top_up.provider)
        checkout_id = top_up.checkout_id
        await uow.release(session)
        applied = await service.settle(session, await gateway.confirm(checkout_id))
        service.settle_after_commit(session, request.app.state.sessions, applied)
        top_up = await service.get(session, org.id, top_up_id)
    return TopUpOut.model_validate(top_up)


@router.post(WEBHOOK_PATHS["stripe"], response_model=ReceivedOut, responses=responses(400, 422))
async def stripe_webhook(request: Request, session: Session) -> ReceivedOut:
    """Stripe's notifications, verified by their signature; each event applies once."""
    return await _notified(request, session, "stripe")


@router.post(
    WEBHOOK_PATHS["paypal"], response_model=ReceivedOut, responses=responses(400, 422, 503)
)
async def paypal_webhook(request: Request, session: Session) -> ReceivedOut:
    """PayPal's notifications, verified with PayPal against the configured webhook id; an
    approved order is captured, and the capture credits once."""
    return await _notified(request, session, "paypal")


async def _notified(request: Request, session: AsyncSession, provider: str) -> ReceivedOut:
    gateway = await _gateways(request).get(session, provider)
    await uow.release(session)
    note = await gateway.notification(await request.body(), dict(request.headers))
    applied = await service.apply(session, note)
    service.settle_after_commit(session, request.app.state.sessions, applied)
    return ReceivedOut(outcome=applied.outcome)


@router.get("/api/admin/top-ups", response_model=AdminTopUpPage, responses=responses(401, 403, 422))
async def list_all_top_ups(
    _: AdminUser,
    session: Session,
    status: Literal["pending", "succeeded", "failed", "expired", "refunded"] | None = None,
    provider: Literal["stripe", "paypal"] | None = None,
    organization_id: Annotated[uuid.UUID | None, Query(alias="organizationId")] = None,
    flagged: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> AdminTopUpPage:
    """Every organization's top-ups (admins), newest first; `flagged=true` for those a
    provider reported with another amount or currency."""
    rows = await service.all_top_ups(
        session,
        status=status,
        provider=provider,
        organization_id=organization_id,
        flagged=flagged,
        cursor=cursor,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return AdminTopUpPage(
        items=[AdminTopUpOut.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.post(
    "/api/admin/top-ups/{top_up_id}/refunds",
    response_model=RefundOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 422, 502, 503),
)
async def refund_top_up(
    request: Request, top_up_id: uuid.UUID, body: RefundIn, admin: AdminUser, session: Session
) -> RefundOut:
    """Send part or all of a top-up back to its card or PayPal account, at most what is
    unspent (the wallet is debited; a refund the provider refuses gives it back, 502)."""
    asked = await refunds.ask(session, admin, top_up_id, body.amount, body.reason)
    refund = await refunds.settle(session, _gateways(request), asked.id)
    if refund.status == "failed":
        raise ProviderRefused(
            refund.failure_reason or "The provider refused the refund", refundId=str(refund.id)
        )
    return RefundOut.model_validate(refund)


def _rule(rule: AutoRecharge | None) -> AutoRechargeOut:
    if rule is None:
        rule = AutoRecharge(enabled=False, threshold_cents=1000, amount_cents=2500)
    return AutoRechargeOut(
        enabled=rule.enabled,
        threshold=rule.threshold_cents,
        amount=rule.amount_cents,
        card_saved=rule.stripe_customer_id is not None,
        last_attempt_at=rule.last_attempt_at,
        last_error=rule.last_error,
    )


@router.get(
    "/api/wallet/auto-recharge", response_model=AutoRechargeOut, responses=responses(401, 404)
)
async def get_auto_recharge(org: CurrentOrg, session: Session) -> AutoRechargeOut:
    """The organization's auto-recharge rule, whether a card is saved, and the last attempt."""
    return _rule(await session.get(AutoRecharge, org.id))


@router.put(
    "/api/wallet/auto-recharge",
    response_model=AutoRechargeOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def put_auto_recharge(
    body: AutoRechargeIn, org: CurrentOrg, session: Session
) -> AutoRechargeOut:
    """ "When the balance falls below `threshold`, top up `amount`" with the saved card, at most
    once each time the balance falls below it."""
    org.require("owner", "admin")
    return _rule(
        await recharge.configure(
            session,
            org.id,
            enabled=body.enabled,
            threshold_cents=body.threshold,
            amount_cents=body.amount,
        )
    )


@router.delete(
    "/api/wallet/auto-recharge/card",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404),
)
async def forget_card(org: CurrentOrg, session: Session) -> None:
    """Forget the saved card (auto-recharge stops)."""
    org.require("owner", "admin")
    await recharge.forget_card(session, org.id)


@router.get(
    "/api/admin/payment-gateways", response_model=list[GatewayOut], responses=responses(401, 403)
)
async def list_gateways(
    request: Request, _: AdminUser, session: Session, settings: AppSettings
) -> list[GatewayOut]:
    """Each provider: configured or not, from the console or the environment, test or live,
    and the webhook address to give the provider. Secrets only say whether they are set."""
    configs = await _gateways(request).configs(session)
    rows = {row.provider: row for row in await session.scalars(select(PaymentGateway))}
    described = []
    for provider, path in WEBHOOK_PATHS.items():
        config, row = configs.get(provider), rows.get(provider)
        described.append(
            GatewayOut(
                provider=provider,
                configured=config is not None,
                source=config.source if config else ("console" if row else None),
                enabled=config is not None,
                test_mode=config.test_mode if config else (row.test_mode if row else None),
                api_base=config.api_base if config else None,
                client_id=config.client_id if config else None,
                webhook_id=config.webhook_id if config else None,
                secret_set=config is not None,
                webhook_secret_set=bool(config and config.webhook_secret),
                webhook_url=settings.public_url + path,
            )
        )
    return described


@router.put(
    "/api/admin/payment-gateways/{provider}",
    response_model=list[GatewayOut],
    responses=responses(401, 403, 422),
)
async def save_gateway(
    request: Request,
    provider: Provider,
    body: GatewayIn,
    admin: AdminUser,
    session: Session,
    settings: AppSettings,
) -> list[GatewayOut]:
    """Configure a provider; checked with the provider first unless `saveAnyway`."""
    await console.save(session, _gateways(request), admin, provider, body)
    return await list_gateways(request, admin, session, settings)


@router.post(
    "/api/admin/payment-gateways/{provider}/test",
    response_model=CheckOut,
    responses=responses(401, 403, 404, 422),
)
async def check_gateway(
    request: Request,
    provider: Provider,
    _: AdminUser,
    session: Session,
    body: GatewayIn | None = None,
) -> CheckOut:
    """Check the given configuration (or the one in use) with the provider."""
    return CheckOut(message=await console.check_config(session, _gateways(request), provider, body))


@router.delete(
    "/api/admin/payment-gateways/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404),
)
async def remove_gateway(provider: Provider, admin: AdminUser, session: Session) -> None:
    """Forget the console's configuration of a provider (the environment's applies again)."""
    await console.remove(session, admin, provider)
