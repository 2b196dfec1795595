"""The payment gateways this panel takes money through: the admins' console configuration (read
on each use), else the environment; each built once per configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.config import Settings
from skypanel.kit.crypto import SecretPlace, decrypt_secret
from skypanel.models import PaymentGateway
from skypanel.payments.paypal_gateway import PayPalGateway
from skypanel.payments.providers import Gateway, ProviderNotConfigured

if TYPE_CHECKING:
    from skypanel.payments.stripe_gateway import StripeGateway

PAYPAL_LIVE = "https://api-m.paypal.com"
PAYPAL_SANDBOX = "https://api-m.sandbox.paypal.com"
STRIPE_API = "https://api.stripe.com"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """What a gateway is built from: the environment's settings or the admins' console."""

    provider: str
    secret: str
    api_base: str
    test_mode: bool
    webhook_secret: str | None = None
    client_id: str | None = None
    webhook_id: str | None = None
    source: Literal["environment", "console"] = "environment"


def _stripe_gateway() -> type[StripeGateway]:
    """The Stripe SDK (about 12 MB) is loaded when a Stripe gateway is first used, not by every
    process."""
    from skypanel.payments.stripe_gateway import StripeGateway

    return StripeGateway


def build(config: GatewayConfig) -> StripeGateway | PayPalGateway:
    if config.provider == "stripe":
        return _stripe_gateway()(config.secret, config.webhook_secret or "", config.api_base)
    return PayPalGateway(config.client_id or "", config.secret, config.webhook_id, config.api_base)


def secret_place(row_id: uuid.UUID, column: str) -> SecretPlace:
    return SecretPlace("payment_gateways", column, str(row_id))


def _from_settings(settings: Settings) -> dict[str, GatewayConfig]:
    found = {}
    if settings.stripe_secret_key and settings.stripe_webhook_secret:
        key = settings.stripe_secret_key.get_secret_value()
        found["stripe"] = GatewayConfig(
            "stripe",
            key,
            settings.stripe_api_base,
            key.startswith("sk_test_"),
            webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
        )
    if settings.paypal_client_id and settings.paypal_client_secret:
        found["paypal"] = GatewayConfig(
            "paypal",
            settings.paypal_client_secret.get_secret_value(),
            settings.paypal_api_base,
            settings.paypal_api_base != PAYPAL_LIVE,
            client_id=settings.paypal_client_id,
            webhook_id=settings.paypal_webhook_id,
        )
    return found


def _from_row(row: PaymentGateway) -> GatewayConfig:
    default = (
        STRIPE_API
        if row.provider == "stripe"
        else (PAYPAL_SANDBOX if row.test_mode else PAYPAL_LIVE)
    )
    webhook_secret = (
        decrypt_secret(
            row.webhook_secret_encrypted, secret_place(row.id, "webhook_secret_encrypted")
        )
        if row.webhook_secret_encrypted
        else None
    )
    return GatewayConfig(
        row.provider,
        decrypt_secret(row.secret_encrypted, secret_place(row.id, "secret_encrypted")),
        row.api_base or default,
        row.test_mode,
        webhook_secret=webhook_secret,
        client_id=row.client_id,
        webhook_id=row.webhook_id,
        source="console",
    )


class Gateways:
    """The providers this panel takes payments through: what the admins configured in the
    console (read on each use, so every process sees a change at once), else the environment.
    A gateway is built once per configuration and kept."""

    def __init__(self, settings: Settings) -> None:
        self._environment = _from_settings(settings)
        self._built: dict[GatewayConfig, StripeGateway | PayPalGateway] = {}

    async def configs(self, session: AsyncSession) -> dict[str, GatewayConfig]:
        found = dict(self._environment)
        for row in await session.scalars(select(PaymentGateway)):
            if row.enabled:
                found[row.provider] = _from_row(row)
            else:
                found.pop(row.provider, None)
        return found

    async def providers(self, session: AsyncSession) -> list[str]:
        return sorted(await self.configs(session))

    async def get(self, session: AsyncSession, provider: str) -> Gateway:
        config = (await self.configs(session)).get(provider)
        if config is None:
            raise ProviderNotConfigured(
                f"Payments through {provider.title()} are not set up on this panel",
                field="provider",
            )
        return self.built(config)

    async def stripe(self, session: AsyncSession) -> StripeGateway:
        gateway = await self.get(session, "stripe")
        assert isinstance(gateway, _stripe_gateway())
        return gateway

    def built(self, config: GatewayConfig) -> StripeGateway | PayPalGateway:
        gateway = self._built.get(config)
        if gateway is None:
            gateway = self._built[config] = build(config)
        return gateway
