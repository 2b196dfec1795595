"""The payment gateways as the admins configure them in the console.

A configuration is checked against the provider before it is saved (unless the admin saves it
anyway), its secrets are encrypted for their row, and it takes precedence over the environment's
`SKYPANEL_STRIPE_*` / `SKYPANEL_PAYPAL_*` from the next request on, in every process. Secrets are
never shown again: only whether one is set.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import uow
from skypanel.kit.crypto import encrypt_secret
from skypanel.kit.errors import InvalidInput, NotFound
from skypanel.models import PaymentGateway, User
from skypanel.payments.gateways import (
    PAYPAL_LIVE,
    PAYPAL_SANDBOX,
    STRIPE_API,
    GatewayConfig,
    Gateways,
    build,
    secret_place,
)
from skypanel.payments.providers import ProviderUnavailable
from skypanel.payments.schemas import GatewayIn


class GatewayCheckFailed(InvalidInput):
    code = "GATEWAY_CHECK_FAILED"


class GatewayNotConfigured(NotFound):
    code = "GATEWAY_NOT_CONFIGURED"


def _wanted(provider: str, body: GatewayIn, saved: GatewayConfig | None) -> GatewayConfig:
    """The configuration the form asks for; an empty secret keeps the one saved."""
    secret = body.secret or (saved.secret if saved else None)
    if not secret:
        raise InvalidInput("The secret is required", field="secret")
    if provider == "stripe":
        kind = "test" if body.test_mode else "live"
        if not secret.startswith((f"sk_{kind}_", f"rk_{kind}_")):
            raise InvalidInput(
                f"A {kind}-mode Stripe secret key starts with sk_{kind}_ (or rk_{kind}_)",
                field="secret",
            )
        webhook_secret = body.webhook_secret or (saved.webhook_secret if saved else None)
        if not webhook_secret:
            raise InvalidInput("Stripe's webhook signing secret is required", field="webhookSecret")
        return GatewayConfig(
            "stripe",
            secret,
            body.api_base or STRIPE_API,
            body.test_mode,
            webhook_secret=webhook_secret,
            source="console",
        )
    if not body.client_id:
        raise InvalidInput("PayPal's client id is required", field="clientId")
    return GatewayConfig(
        "paypal",
        secret,
        body.api_base or (PAYPAL_SANDBOX if body.test_mode else PAYPAL_LIVE),
        body.test_mode,
        client_id=body.client_id,
        webhook_id=body.webhook_id,
        source="console",
    )


async def check(config: GatewayConfig) -> str:
    try:
        return await build(config).check()
    except ProviderUnavailable as exc:
        raise GatewayCheckFailed(exc.message, field="secret") from exc


async def check_config(
    session: AsyncSession, gateways: Gateways, provider: str, body: GatewayIn | None
) -> str:
    """Check the form's configuration, or the one in use."""
    saved = (await gateways.configs(session)).get(provider)
    config = _wanted(provider, body, saved) if body is not None else saved
    if config is None:
        raise GatewayNotConfigured(f"{provider.title()} is not configured")
    await uow.release(session)
    return await check(config)


async def save(
    session: AsyncSession, gateways: Gateways, admin: User, provider: str, body: GatewayIn
) -> PaymentGateway:
    saved = (await gateways.configs(session)).get(provider)
    config = _wanted(provider, body, saved)
    if body.enabled and not body.save_anyway:
        await uow.release(session)
        await check(config)
    row = await session.scalar(
        select(PaymentGateway).where(PaymentGateway.provider == provider).with_for_update()
    )
    if row is None:
        row = PaymentGateway(id=uuid.uuid4(), provider=provider)
        session.add(row)
    row.enabled, row.test_mode = body.enabled, body.test_mode
    row.api_base = body.api_base
    row.client_id, row.webhook_id = config.client_id, config.webhook_id
    row.secret_encrypted = encrypt_secret(config.secret, secret_place(row.id, "secret_encrypted"))
    row.webhook_secret_encrypted = (
        encrypt_secret(config.webhook_secret, secret_place(row.id, "webhook_secret_encrypted"))
        if config.webhook_secret
        else None
    )
    row.updated_by = admin.id
    await session.flush()
    await record(
        session,
        "payments.gateway.update",
        f"{provider.title()} payments {'configured' if body.enabled else 'turned off'}"
        f" ({'test' if body.test_mode else 'live'} mode)",
        user_id=admin.id,
        entity_type="payment_gateway",
        entity_id=row.id,
    )
    return row


async def remove(session: AsyncSession, admin: User, provider: str) -> None:
    """Forget the console's configuration (the environment's applies again, if any)."""
    removed = await session.execute(
        delete(PaymentGateway).where(PaymentGateway.provider == provider)
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise GatewayNotConfigured(f"{provider.title()} has no configuration in the console")
    await record(
        session,
        "payments.gateway.delete",
        f"{provider.title()} configuration removed from the console",
        user_id=admin.id,
        entity_type="payment_gateway",
    )
