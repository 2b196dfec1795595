from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.invoices import service, tax
from skypanel.invoices.tax import Line
from skypanel.kit import clock
from skypanel.models.invoices import BillingDocument, BillingProfile
from tests.invoices.conftest import configure
from tests.support import Account, register

PLAN = [Line("Plan M, December", 1, 1000), Line("Extra storage", 3, 250)]


async def test_twenty_concurrent_issues_get_consecutive_numbers(
    live_client: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    org = (await register(live_client)).organization_id
    async with committed() as session:
        await configure(session)
        await session.commit()

    async def charge() -> str:
        async with committed() as session:
            document = await service.issue(
                session, org, kind="invoice", lines=PLAN, reference=("ledger", uuid.uuid4())
            )
            await asyncio.sleep(0.01)  # keep the counter locked while others queue
            await session.commit()
            return document.number

    numbers = await asyncio.gather(*(charge() for _ in range(20)))
    year = clock.now().year
    assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, 21)]


async def test_a_rolled_back_charge_returns_its_number(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session)
        await session.commit()
    async with db() as session:
        await service.issue(
            session,
            alice.organization_id,
            kind="receipt",
            lines=PLAN,
            reference=("top_up", uuid.uuid4()),
            taxed=False,
        )
        await session.rollback()
    async with db() as session:
        kept = await service.issue(
            session,
            alice.organization_id,
            kind="receipt",
            lines=PLAN,
            reference=("top_up", uuid.uuid4()),
            taxed=False,
        )
    assert kept.number == f"RCT-{clock.now().year}-000001"


async def test_one_document_per_reference(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    reference = ("ledger", uuid.uuid4())
    async with db() as session:
        await configure(session)
        first = await service.issue(
            session, alice.organization_id, kind="invoice", lines=PLAN, reference=reference
        )
        again = await service.issue(
            session, alice.organization_id, kind="invoice", lines=PLAN, reference=reference
        )
        count = await session.scalar(text("SELECT count(*) FROM billing_documents"))
        last = await session.scalar(text("SELECT last_number FROM document_counters"))
    assert again.id == first.id
    assert (count, last) == (1, 1)


async def test_two_transactions_racing_for_one_reference_issue_one_document(
    live_client: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    org = (await register(live_client)).organization_id
    reference = ("ledger", uuid.uuid4())
    async with committed() as session:
        await configure(session)
        await session.commit()

    async def charge() -> uuid.UUID:
        async with committed() as session:
            document = await service.issue(
                session, org, kind="invoice", lines=PLAN, reference=reference
            )
            await asyncio.sleep(0.05)
            await session.commit()
            return document.id

    first, second = await asyncio.gather(charge(), charge())
    async with committed() as session:
        numbers = (await session.scalars(select(BillingDocument.number))).all()
        last = await session.scalar(text("SELECT last_number FROM document_counters"))
    assert first == second
    assert (len(numbers), last) == (1, 1)


async def test_issued_documents_cannot_change(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session)
        document = await service.issue(
            session,
            alice.organization_id,
            kind="invoice",
            lines=PLAN,
            reference=("ledger", uuid.uuid4()),
        )
        await session.commit()
    for statement in (
        "UPDATE billing_documents SET total_cents = 0, subtotal_cents = 0, tax_cents = 0",
        "DELETE FROM billing_documents",
    ):
        async with db() as session:
            with pytest.raises(DBAPIError, match="billing_documents is append-only"):
                await session.execute(text(statement))
    async with db() as session:
        kept = await session.get(BillingDocument, document.id)
    assert kept is not None
    assert kept.total_cents == 2083


async def test_invoice_taxes_per_line_and_snapshots_both_parties(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session)
        session.add(_profile(alice.organization_id, country="DE"))
        await session.flush()
        document = await service.issue(
            session,
            alice.organization_id,
            kind="invoice",
            lines=PLAN,
            reference=("ledger", uuid.uuid4()),
        )
    assert (document.subtotal_cents, document.tax_cents, document.total_cents) == (
        1750,
        333,
        2083,
    )  # 190 + 142.5 -> 143: half-up per line
    assert [(line["net_cents"], line["tax_cents"]) for line in document.lines] == [
        (1000, 190),
        (750, 143),
    ]
    assert (document.tax_rate_bps, document.tax_name, document.tax_mention) == (1900, "VAT", None)
    assert document.seller["legalName"] == "SkyPanel GmbH"
    assert document.buyer["legalName"] == "Example Ltd"


async def test_gross_prices_take_the_tax_out(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session, prices_include_tax=True)
        document = await service.issue(
            session,
            alice.organization_id,
            kind="invoice",
            lines=[Line("Plan M", 1, 1190)],
            reference=("ledger", uuid.uuid4()),
        )
    assert (document.subtotal_cents, document.tax_cents, document.total_cents) == (1000, 190, 1190)


async def test_reverse_charge_and_credit_note_keeping_the_invoice_tax(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session)
        session.add(_profile(alice.organization_id, country="FR", vat="FR40303265045"))
        await session.flush()
        invoice = await service.issue(
            session,
            alice.organization_id,
            kind="invoice",
            lines=PLAN,
            reference=("ledger", uuid.uuid4()),
        )
        note = await service.issue(
            session,
            alice.organization_id,
            kind="credit_note",
            lines=[Line("Refund of Plan M", 1, 1000)],
            reference=("refund", uuid.uuid4()),
            related=invoice.id,
        )
    assert (invoice.tax_cents, invoice.total_cents, invoice.tax_mention) == (
        0,
        1750,
        tax.REVERSE_CHARGE,
    )
    assert (note.number, note.related_document_id) == (f"CN-{clock.now().year}-000001", invoice.id)
    assert (note.tax_cents, note.total_cents, note.tax_mention) == (0, 1000, tax.REVERSE_CHARGE)


async def test_receipts_of_prepaid_credit_are_not_taxed(
    db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    async with db() as session:
        await configure(session)
        receipt = await service.issue(
            session,
            alice.organization_id,
            kind="receipt",
            lines=[Line("Wallet top-up", 1, 5000)],
            reference=("top_up", uuid.uuid4()),
            taxed=False,
        )
    assert (receipt.tax_cents, receipt.total_cents, receipt.tax_mention) == (0, 5000, tax.PREPAID)


def _profile(org: uuid.UUID, *, country: str, vat: str | None = None) -> BillingProfile:
    return BillingProfile(
        organization_id=org,
        legal_name="Example Ltd",
        address_line1="1 Rue de Rivoli",
        postal_code="75001",
        city="Paris",
        country=country,
        vat_number=vat,
        is_business=vat is not None,
    )
