"""What SkyPanel asks of a payment provider, and what it reads back, in one shape for every
provider: a `Gateway` opens a hosted checkout for an amount and turns the provider's word into a
`Notification` (a signed webhook, or its API read with our own key). Nothing here touches the
database; `stripe_gateway` and `paypal_gateway` implement it, `gateways` picks the configured ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from skypanel.kit.errors import AppError, InvalidInput

Outcome = Literal["paid", "failed", "expired", "ignored"]


class InvalidSignature(AppError):
    code = "INVALID_SIGNATURE"
    status = 400


class ProviderNotConfigured(InvalidInput):
    code = "PROVIDER_NOT_CONFIGURED"


class ProviderUnavailable(AppError):
    code = "PROVIDER_UNAVAILABLE"
    status = 503


class ProviderRefused(AppError):
    """The provider said no (or could not be asked); what was recorded around it still
    commits, so the refusal is remembered."""

    code = "PROVIDER_REFUSED"
    status = 502
    keeps_work = True


@dataclass(frozen=True, slots=True)
class Checkout:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class Notification:
    """What the provider says about one checkout."""

    provider: str
    event_id: str
    event_type: str
    checkout_id: str | None
    outcome: Outcome
    payment_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    reason: str | None = None
    customer_id: str | None = None
    """The provider's customer the card was saved on (Stripe, when the payer asked)."""


@dataclass(frozen=True, slots=True)
class SavedCard:
    """Keep the card for off-session charges, on this customer (or a new one)."""

    customer_id: str | None


class Gateway(Protocol):
    provider: str

    async def create_checkout(
        self,
        top_up_id: uuid.UUID,
        amount_cents: int,
        currency: str,
        *,
        email: str,
        return_url: str,
        save_card: SavedCard | None = None,
    ) -> Checkout: ...

    async def notification(self, body: bytes, headers: dict[str, str]) -> Notification: ...

    async def confirm(self, checkout_id: str) -> Notification: ...

    async def refund(
        self, payment_id: str, amount_cents: int, currency: str, *, refund_id: uuid.UUID
    ) -> str: ...

    async def check(self) -> str: ...


def automatic_checkout(top_up_id: uuid.UUID) -> str:
    """The checkout id of an auto-recharge top-up: it has no checkout page."""
    return f"auto:{top_up_id}"
