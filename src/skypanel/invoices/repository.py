"""All SQL of billing documents, billing profiles, tax rates and document counters."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import bulk, clock
from skypanel.kit.pagination import newest_first
from skypanel.kit.tenancy import scoped
from skypanel.models import Organization
from skypanel.models.invoices import BillingDocument, BillingProfile, DocumentCounter, TaxRate


async def next_number(session: AsyncSession, kind: str, year: int) -> int:
    """Take the next number of `kind` in `year` (`take_numbers` for one)."""
    return await take_numbers(session, kind, year, 1)


async def take_numbers(session: AsyncSession, kind: str, year: int, count: int) -> int:
    """Take `count` consecutive numbers of `kind` in `year` in one statement; returns the first.

    The counter row stays locked until the caller's transaction ends, so concurrent issuers queue
    here and a rollback returns the numbers: no gaps, no duplicates."""
    if count < 1:
        raise ValueError(f"cannot take {count} numbers")
    statement = (
        insert(DocumentCounter)
        .values(kind=kind, year=year, last_number=count)
        .on_conflict_do_update(
            index_elements=[DocumentCounter.kind, DocumentCounter.year],
            set_={"last_number": DocumentCounter.last_number + count},
        )
        .returning(DocumentCounter.last_number)
    )
    return int((await session.execute(statement)).scalar_one()) - count + 1


async def add_documents(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many documents in one multi-row statement (a billing run's invoices)."""
    await bulk.insert_rows(session, BillingDocument, rows)


async def by_reference(
    session: AsyncSession, kind: str, reference_type: str, reference_id: uuid.UUID
) -> BillingDocument | None:
    return await session.scalar(
        select(BillingDocument).where(
            BillingDocument.kind == kind,
            BillingDocument.reference_type == reference_type,
            BillingDocument.reference_id == reference_id,
        )
    )


async def invoices_of_entries(
    session: AsyncSession, organization_id: uuid.UUID, entry_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, BillingDocument]:
    """The invoices of these ledger entries (a charge's entry is its invoice's reference)."""
    if not entry_ids:
        return {}
    rows = await session.scalars(
        select(BillingDocument).where(
            BillingDocument.organization_id == organization_id,
            BillingDocument.kind == "invoice",
            BillingDocument.reference_type == "payment_transaction",
            BillingDocument.reference_id.in_(entry_ids),
        )
    )
    return {row.reference_id: row for row in rows}


async def document(
    session: AsyncSession, organization_id: uuid.UUID, document_id: uuid.UUID
) -> BillingDocument | None:
    return await session.scalar(
        scoped(select(BillingDocument), BillingDocument, organization_id).where(
            BillingDocument.id == document_id
        )
    )


async def documents(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[BillingDocument]:
    query = scoped(select(BillingDocument), BillingDocument, organization_id)
    if kind:
        query = query.where(BillingDocument.kind == kind)
    query = newest_first(
        query, BillingDocument.issued_at, BillingDocument.id, cursor=cursor, limit=limit
    )
    return (await session.scalars(query)).all()


async def all_documents(
    session: AsyncSession, organization_id: uuid.UUID, *, kind: str | None
) -> Sequence[BillingDocument]:
    """Every document of the organization, newest first (the CSV export)."""
    query = scoped(select(BillingDocument), BillingDocument, organization_id)
    if kind:
        query = query.where(BillingDocument.kind == kind)
    query = query.order_by(BillingDocument.issued_at.desc(), BillingDocument.id.desc())
    return (await session.scalars(query)).all()


async def organization_name(session: AsyncSession, organization_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Organization.name).where(Organization.id == organization_id))


async def organization_names(
    session: AsyncSession, organization_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Organization.id, Organization.name).where(
            Organization.id == bulk.any_of(organization_ids)
        )
    )
    return {row.id: row.name for row in rows}


async def profile(session: AsyncSession, organization_id: uuid.UUID) -> BillingProfile | None:
    return await session.scalar(
        scoped(select(BillingProfile), BillingProfile, organization_id).execution_options(
            populate_existing=True
        )
    )


async def profiles(
    session: AsyncSession, organization_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, BillingProfile]:
    """The billing profiles of many organizations at once (a billing run's buyers)."""
    found = await session.scalars(
        select(BillingProfile)
        .where(BillingProfile.organization_id == bulk.any_of(organization_ids))
        .execution_options(populate_existing=True)
    )
    return {row.organization_id: row for row in found}


async def save_profile(
    session: AsyncSession, organization_id: uuid.UUID, values: dict[str, Any]
) -> None:
    row = {**values, "organization_id": organization_id, "updated_at": clock.now()}
    await session.execute(
        insert(BillingProfile)
        .values(row)
        .on_conflict_do_update(index_elements=[BillingProfile.organization_id], set_=row)
    )


async def rates(session: AsyncSession) -> Sequence[TaxRate]:
    return (await session.scalars(select(TaxRate).order_by(TaxRate.country))).all()


async def save_rate(session: AsyncSession, country: str, rate_bps: int, name: str) -> TaxRate:
    values = {"rate_bps": rate_bps, "name": name, "updated_at": clock.now()}
    saved = await session.scalar(
        insert(TaxRate)
        .values(country=country, **values)
        .on_conflict_do_update(index_elements=[TaxRate.country], set_=values)
        .returning(TaxRate)
        .execution_options(populate_existing=True)
    )
    assert saved is not None
    return saved


async def delete_rate(session: AsyncSession, country: str) -> bool:
    result = await session.execute(
        delete(TaxRate).where(TaxRate.country == country).returning(TaxRate.country)
    )
    return result.scalar_one_or_none() is not None
