"""Invoices fixtures: the seller and tax rates in place."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.models import PlatformSetting
from skypanel.models.invoices import TaxRate

SELLER = {
    "legalName": "SkyPanel GmbH",
    "address": "Hauptstrasse 1\n10115 Berlin",
    "country": "DE",
    "taxId": "DE136695976",
    "logoUrl": "https://skypanel.example/logo.png",
}


async def configure(session: AsyncSession, **settings: Any) -> None:
    """Store platform settings (the seller by default) and the German and French VAT rates."""
    for key, value in {"seller": SELLER, **settings}.items():
        await session.execute(
            insert(PlatformSetting)
            .values(key=key, value=value)
            .on_conflict_do_update(index_elements=[PlatformSetting.key], set_={"value": value})
        )
    for country, bps in (("DE", 1900), ("FR", 2000)):
        await session.execute(
            insert(TaxRate)
            .values(country=country, rate_bps=bps, name="VAT")
            .on_conflict_do_nothing()
        )
