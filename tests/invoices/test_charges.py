"""Every charge of a cycle issues an invoice and every refund a credit note, in the transaction
of its ledger entry, whose amount is the document's total."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from bench.seed import seed_due_subscriptions
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.billing import service as billing
from skypanel.emulator import RunningEmulator
from skypanel.invoices import tax
from skypanel.models import EasypanelServer, Organization, PaymentTransaction
from skypanel.models.invoices import BillingDocument, BillingProfile
from tests.billing.helpers import subscribe_at
from tests.invoices.conftest import configure
from tests.support import (
    Account,
    balance,
    clock_at,
    configure_server,
    credit,
    make_plan,
    register,
)

APRIL = datetime(2027, 4, 1, 0, 0, tzinfo=UTC)
PRICE = 1005
"""19 % of it is 190.95: the tax rounds half-up to 191."""


async def _documents(sessions: async_sessionmaker[AsyncSession]) -> list[BillingDocument]:
    async with sessions() as session:
        found = await session.scalars(select(BillingDocument).order_by(BillingDocument.number))
        return list(found.all())


async def _entry(
    sessions: async_sessionmaker[AsyncSession], document: BillingDocument
) -> PaymentTransaction:
    """The ledger entry a document refers to."""
    assert document.reference_type == "payment_transaction"
    async with sessions() as session:
        entry = await session.get(PaymentTransaction, document.reference_id)
    assert entry is not None
    return entry


async def _profile(
    sessions: async_sessionmaker[AsyncSession],
    org: uuid.UUID,
    *,
    country: str,
    vat: str | None = None,
) -> None:
    async with sessions() as session:
        await configure(session)
        session.add(
            BillingProfile(
                organization_id=org,
                legal_name="Example GmbH",
                address_line1="Hauptstrasse 2",
                postal_code="10115",
                city="Berlin",
                country=country,
                vat_number=vat,
                is_business=vat is not None,
            )
        )
        await session.commit()


async def test_twenty_concurrent_subscribes_issue_twenty_consecutive_invoices(
    live_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> None:
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    plan = await make_plan(committed, price_cents=PRICE)
    accounts = [await register(live_client, f"buyer{n}@example.com") for n in range(20)]
    for account in accounts:
        await credit(committed, account.organization_id, 5000)

    async def subscribe(account: Account) -> int:
        response = await live_client.post(
            "/api/containers/subscription", headers=account.headers, json={"planId": str(plan)}
        )
        return response.status_code

    assert await asyncio.gather(*(subscribe(a) for a in accounts)) == [201] * 20
    documents = await _documents(committed)
    year = documents[0].year
    assert [d.number for d in documents] == [f"INV-{year}-{n:06d}" for n in range(1, 21)]
    assert {d.organization_id for d in documents} == {a.organization_id for a in accounts}
    for document in documents:
        entry = await _entry(committed, document)
        assert (entry.kind, -entry.amount_cents, document.total_cents) == ("debit", PRICE, PRICE)
    easypanel.controller.reset()


async def test_a_renewal_run_issues_one_consecutive_invoice_per_debit_and_a_rerun_none(
    db: async_sessionmaker[AsyncSession],
) -> None:
    due = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    plan = await make_plan(db, price_cents=PRICE)
    await seed_due_subscriptions(db, count=7, plan_id=plan, due=due, balance_cents=10_000)
    async with db() as session:
        french = await session.scalar(select(Organization.id).order_by(Organization.id).limit(1))
    assert french is not None
    # The others have no profile yet: taxed as consumers in the seller's country (DE, 19 %).
    await _profile(db, french, country="FR", vat="FR40303265045")
    with clock_at(lambda: due + timedelta(minutes=5)):
        first = await billing.run(db, batch=3)
        again = await billing.run(db, batch=3)
    assert (first.charged, again.charged) == (7, 0)

    async with db() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT d.number, d.total_cents, d.tax_cents, -p.amount_cents AS debited,"
                    " c.subscription_id, d.organization_id"
                    " FROM billing_documents d"
                    " JOIN payment_transactions p ON p.id = d.reference_id"
                    " JOIN container_billing_cycles c ON c.payment_transaction_id = p.id"
                    " WHERE d.kind = 'invoice' ORDER BY d.number"
                )
            )
        ).all()
        debits = await session.scalar(
            text("SELECT count(*) FROM payment_transactions WHERE kind = 'debit'")
        )
    assert (len(rows), debits) == (7, 7)
    assert [r.number for r in rows] == [f"INV-2027-{n:06d}" for n in range(1, 8)]
    # Numbered in claim order: every subscription is due at once, so by subscription id.
    assert [r.subscription_id for r in rows] == sorted(r.subscription_id for r in rows)
    assert all(r.total_cents == r.debited for r in rows)
    assert sorted((r.organization_id == french, r.debited, r.tax_cents) for r in rows) == [
        *[(False, 1196, 191)] * 6,
        (True, PRICE, 0),
    ]


async def test_net_prices_with_german_vat_debit_the_price_with_its_tax(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await _profile(db, org, country="DE")
    plan = await make_plan(db, price_cents=PRICE)
    await credit(db, org, 1195)
    with clock_at(lambda: APRIL):
        short = await client.post(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(plan)}
        )
    assert short.status_code == 402
    assert short.json()["error"]["details"]["required"] == "11.96"
    assert await _documents(db) == []

    await credit(db, org, 1)
    await subscribe_at(client, alice, plan, APRIL)
    [invoice] = await _documents(db)
    entry = await _entry(db, invoice)
    # 1005 * 1.19 = 1195.95, rounded half-up to 1196.
    assert -entry.amount_cents == invoice.total_cents == 1196
    assert (invoice.subtotal_cents, invoice.tax_cents) == (PRICE, 191)
    assert (invoice.tax_rate_bps, invoice.tax_name, invoice.tax_mention) == (1900, "VAT", None)
    assert await balance(db, org) == 0


async def test_reverse_charge_debits_the_net_price_and_says_so(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await _profile(db, org, country="FR", vat="FR40303265045")
    plan = await make_plan(db, price_cents=PRICE)
    await credit(db, org, 2000)
    await subscribe_at(client, alice, plan, APRIL)
    [invoice] = await _documents(db)
    entry = await _entry(db, invoice)
    assert -entry.amount_cents == invoice.total_cents == PRICE
    assert (invoice.tax_cents, invoice.tax_mention) == (0, tax.REVERSE_CHARGE)
    assert await balance(db, org) == 2000 - PRICE


async def test_gross_prices_debit_the_plan_price_with_the_tax_inside(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await _profile(db, org, country="DE")
    async with db() as session:
        await configure(session, prices_include_tax=True)
        await session.commit()
    plan = await make_plan(db, price_cents=1190)
    await credit(db, org, 1190)
    await subscribe_at(client, alice, plan, APRIL)
    [invoice] = await _documents(db)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (1000, 190, 1190)
    assert await balance(db, org) == 0


async def test_a_plan_change_issues_a_credit_note_of_the_old_invoice_and_a_new_invoice(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await _profile(db, org, country="DE")
    small = await make_plan(db, price_cents=3000, name="Small")
    large = await make_plan(db, price_cents=6000, name="Large")
    await credit(db, org, 10_000)
    await subscribe_at(client, alice, small, APRIL)
    halfway = datetime(2027, 4, 16, 0, 0, tzinfo=UTC)  # 15 of April's 30 days left
    with clock_at(lambda: halfway):
        changed = await client.put(
            "/api/containers/subscription", headers=alice.headers, json={"planId": str(large)}
        )
    assert changed.status_code == 200, changed.text

    note, first, second = await _documents(db)  # CN-… sorts before INV-…
    year = first.year
    assert (first.number, second.number, note.number) == (
        f"INV-{year}-000001",
        f"INV-{year}-000002",
        f"CN-{year}-000001",
    )
    assert note.related_document_id == first.id
    # Half of 3000 back with its 19 %, half of 6000 charged with its 19 %.
    assert (first.total_cents, note.subtotal_cents, note.tax_cents, note.total_cents) == (
        3570,
        1500,
        285,
        1785,
    )
    assert (second.subtotal_cents, second.tax_cents, second.total_cents) == (3000, 570, 3570)
    refund, charge = await _entry(db, note), await _entry(db, second)
    assert (refund.kind, refund.amount_cents, charge.kind, charge.amount_cents) == (
        "refund",
        1785,
        "debit",
        -3570,
    )
    assert await balance(db, org) == 10_000 - 3570 + 1785 - 3570


async def test_a_cancellation_refund_is_a_credit_note_of_the_cycle_invoice(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    org = alice.organization_id
    await _profile(db, org, country="DE")
    plan = await make_plan(db, price_cents=3000)
    await credit(db, org, 3570)
    await subscribe_at(client, alice, plan, APRIL)
    async with db() as session:
        slug = await session.scalar(select(Organization.slug).where(Organization.id == org))
    with clock_at(lambda: datetime(2027, 4, 16, 0, 0, tzinfo=UTC)):
        cancelled = await client.delete(
            "/api/containers/subscription",
            headers=alice.headers,
            params={"confirm": slug},
        )
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["refundAmount"] == "17.85"
    note, invoice = await _documents(db)
    assert (note.kind, note.related_document_id, note.total_cents) == (
        "credit_note",
        invoice.id,
        1785,
    )
    assert (await _entry(db, note)).amount_cents == 1785
    assert await balance(db, org) == 1785
