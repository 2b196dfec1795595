from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from skypanel.kit.money import Money, MoneyIn
from skypanel.kit.schema import ApiModel, InputModel


class TopUpIn(InputModel):
    amount: MoneyIn = Field(gt=0, description='What to put in the wallet, e.g. "25.00"')
    provider: Literal["stripe", "paypal"]
    save_card: bool = Field(
        default=False, description="Keep the card for auto-recharge (Stripe only)"
    )


class TopUpOut(ApiModel):
    id: uuid.UUID
    status: str
    provider: str
    amount: Money = Field(validation_alias="amount_cents")
    currency: str
    checkout_url: str = Field(description="The provider's payment page: send the payer there")
    failure_reason: str | None
    created_at: datetime
    settled_at: datetime | None


class TopUpPage(ApiModel):
    items: list[TopUpOut]
    next_cursor: str | None


class ReceivedOut(ApiModel):
    received: bool = True
    outcome: str


class AdminTopUpOut(TopUpOut):
    organization_id: uuid.UUID
    payment_id: str | None
    refunded: Money = Field(validation_alias="refunded_cents")
    flagged: str | None


class AdminTopUpPage(ApiModel):
    items: list[AdminTopUpOut]
    next_cursor: str | None


class RefundIn(InputModel):
    amount: MoneyIn = Field(gt=0, description="At most what is unspent of the top-up")
    reason: str = Field(min_length=3, max_length=500)


class RefundOut(ApiModel):
    id: uuid.UUID
    top_up_id: uuid.UUID
    amount: Money = Field(validation_alias="amount_cents")
    status: str
    reason: str
    failure_reason: str | None
    created_at: datetime


class AutoRechargeIn(InputModel):
    enabled: bool
    threshold: MoneyIn = Field(ge=0, description="Top up when the balance falls below this")
    amount: MoneyIn = Field(gt=0, description="How much each recharge puts in")


class AutoRechargeOut(ApiModel):
    enabled: bool
    threshold: Money = Field(validation_alias="threshold_cents")
    amount: Money = Field(validation_alias="amount_cents")
    card_saved: bool
    last_attempt_at: datetime | None
    last_error: str | None


class GatewayIn(InputModel):
    enabled: bool = True
    test_mode: bool = Field(description="Test keys and the provider's sandbox")
    secret: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^[\x21-\x7e]+$",
        description="Stripe's secret key or PayPal's client secret; empty keeps the saved one",
    )
    webhook_secret: str | None = Field(
        default=None, max_length=500, pattern=r"^whsec_[\x21-\x7e]+$", description="Stripe only"
    )
    client_id: str | None = Field(
        default=None, max_length=255, pattern=r"^[\x21-\x7e]+$", description="PayPal only"
    )
    webhook_id: str | None = Field(
        default=None, max_length=255, pattern=r"^[\x21-\x7e]+$", description="PayPal only"
    )
    api_base: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$",
        description="Only for a stand-in or a proxy; the provider's own API by default",
    )
    save_anyway: bool = Field(default=False, description="Save without checking with the provider")


class GatewayOut(ApiModel):
    provider: str
    configured: bool
    source: str | None
    enabled: bool
    test_mode: bool | None
    api_base: str | None
    client_id: str | None
    webhook_id: str | None
    secret_set: bool
    webhook_secret_set: bool
    webhook_url: str


class CheckOut(ApiModel):
    ok: bool = True
    message: str
