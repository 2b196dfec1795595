"""The buyer's billing profile and the admins' tax rates: what documents are built from."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.invoices import repository, tax
from skypanel.kit.errors import NotFound
from skypanel.models.invoices import BillingProfile, TaxRate


class TaxRateNotFound(NotFound):
    code = "TAX_RATE_NOT_FOUND"


async def save_profile(
    session: AsyncSession, organization_id: uuid.UUID, values: dict[str, Any], actor: uuid.UUID
) -> BillingProfile:
    """Replace the organization's billing profile (documents already issued keep their copy)."""
    await repository.save_profile(session, organization_id, values)
    await record(
        session,
        "billing.profile.update",
        "Billing profile changed",
        organization_id=organization_id,
        user_id=actor,
        entity_type="billing_profile",
        entity_id=organization_id,
    )
    saved = await repository.profile(session, organization_id)
    assert saved is not None
    return saved


async def save_rate(
    session: AsyncSession, country: str, rate_bps: int, name: str, actor: uuid.UUID
) -> TaxRate:
    saved = await repository.save_rate(session, country, rate_bps, name)
    await record(
        session,
        "billing.tax_rate.update",
        f"Tax rate of {country} set to {tax.format_rate(rate_bps)} % {name}",
        user_id=actor,
        entity_type="tax_rate",
        metadata={"country": country, "rateBps": rate_bps, "name": name},
    )
    return saved


async def delete_rate(session: AsyncSession, country: str, actor: uuid.UUID) -> None:
    if not await repository.delete_rate(session, country):
        raise TaxRateNotFound(f"No tax rate is set for {country}", country=country)
    await record(
        session,
        "billing.tax_rate.delete",
        f"Tax rate of {country} removed",
        user_id=actor,
        entity_type="tax_rate",
        metadata={"country": country},
    )
