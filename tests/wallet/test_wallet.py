from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import ActivityLog, PaymentTransaction, Wallet
from skypanel.wallet import repository
from skypanel.wallet import service as wallet
from tests.support import Account, make_admin, register


async def _credit(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, cents: int) -> None:
    async with sessions() as session:
        await wallet.post(
            session,
            org,
            kind="credit",
            amount_cents=cents,
            description="Top-up",
            idempotency_key=f"test-credit-{uuid.uuid4()}",
        )
        await session.commit()


async def test_wallet_and_paginated_transactions(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    for cents in (1000, 250, 1999):
        await _credit(db, alice.organization_id, cents)
    response = await client.get("/api/wallet", headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["balance"] == "32.49"
    assert response.json()["currency"] == "USD"

    first = await client.get("/api/wallet/transactions?limit=2", headers=alice.headers)
    assert [t["amount"] for t in first.json()["items"]] == ["19.99", "2.50"]
    assert [t["balanceAfter"] for t in first.json()["items"]] == ["32.49", "12.50"]
    cursor = first.json()["nextCursor"]
    second = await client.get(
        f"/api/wallet/transactions?limit=2&cursor={cursor}", headers=alice.headers
    )
    assert [t["amount"] for t in second.json()["items"]] == ["10.00"]
    assert second.json()["nextCursor"] is None

    bad = await client.get("/api/wallet/transactions?cursor=%%%", headers=alice.headers)
    assert bad.status_code == 422


async def test_admin_adjustments_credit_debit_and_refuse_overdraft(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    admin = await make_admin(client, db)
    url = f"/api/admin/organizations/{alice.organization_id}/wallet/adjustments"
    credit = await client.post(
        url, headers=admin.headers, json={"amount": "25.00", "description": "Goodwill credit"}
    )
    assert credit.status_code == 201
    assert credit.json()["balanceAfter"] == "25.00"
    assert credit.json()["kind"] == "adjustment"
    debit = await client.post(
        url, headers=admin.headers, json={"amount": "-5.50", "description": "Manual correction"}
    )
    assert debit.json()["balanceAfter"] == "19.50"

    overdraft = await client.post(
        url, headers=admin.headers, json={"amount": "-19.51", "description": "Too much"}
    )
    assert overdraft.status_code == 402
    assert overdraft.json()["error"] == {
        "code": "INSUFFICIENT_BALANCE",
        "message": "The wallet balance is too low",
        "details": {"required": "19.51", "available": "19.50", "currency": "USD"},
    }
    async with db() as session:
        assert await repository.ledger_sum(session, alice.organization_id) == 1950
        events = (
            await session.scalars(
                select(ActivityLog.metadata_).where(
                    ActivityLog.event_type == "wallet.adjustment",
                    ActivityLog.organization_id == alice.organization_id,
                )
            )
        ).all()
        assert sorted(e["amount"] for e in events) == ["-5.50", "25.00"]


@pytest.mark.parametrize("amount", ["1.999", "abc", "1e3", 12.5, "", "0", "99999999999999.00"])
async def test_adjustment_amounts_are_validated(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account, amount: object
) -> None:
    admin = await make_admin(client, db)
    response = await client.post(
        f"/api/admin/organizations/{alice.organization_id}/wallet/adjustments",
        headers=admin.headers,
        json={"amount": amount, "description": "Check"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    async with db() as session:
        assert await repository.ledger_sum(session, alice.organization_id) == 0


async def test_adjustment_idempotency_key_replays_and_refuses_a_different_amount(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    admin = await make_admin(client, db)
    url = f"/api/admin/organizations/{alice.organization_id}/wallet/adjustments"
    headers = {**admin.headers, "Idempotency-Key": "adj-1"}
    body = {"amount": "10.00", "description": "Once"}
    first = await client.post(url, headers=headers, json=body)
    replay = await client.post(url, headers=headers, json=body)
    assert first.json()["id"] == replay.json()["id"]
    different = await client.post(url, headers=headers, json={**body, "amount": "11.00"})
    assert different.status_code == 409
    assert different.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    async with db() as session:
        assert await repository.ledger_sum(session, alice.organization_id) == 1000


async def test_adjustments_need_an_admin_and_an_existing_wallet(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    url = f"/api/admin/organizations/{alice.organization_id}/wallet/adjustments"
    body = {"amount": "10.00", "description": "Free money"}
    assert (await client.post(url, headers=alice.headers, json=body)).status_code == 403
    admin = await make_admin(client, db)
    missing = await client.post(
        f"/api/admin/organizations/{uuid.uuid4()}/wallet/adjustments",
        headers=admin.headers,
        json=body,
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "WALLET_NOT_FOUND"


async def test_ledger_is_append_only_and_balance_cannot_go_negative(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, alice: Account
) -> None:
    await _credit(db, alice.organization_id, 500)
    async with db() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("UPDATE payment_transactions SET amount_cents = 1"))
    async with db() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM payment_transactions"))
    async with db() as session:
        with pytest.raises(IntegrityError, match="balance_not_negative"):
            await session.execute(text("UPDATE wallets SET balance_cents = -1"))


async def test_concurrent_debits_never_overdraw(
    live_client: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    account = await register(live_client)
    org = account.organization_id
    await _credit(committed, org, 1000)

    async def debit(n: int) -> bool:
        async with committed() as session:
            try:
                await wallet.post(
                    session,
                    org,
                    kind="debit",
                    amount_cents=300,
                    description=f"Charge {n}",
                    idempotency_key=f"charge-{n}",
                )
            except wallet.InsufficientBalance:
                await session.rollback()
                return False
            await session.commit()
            return True

    results = await asyncio.gather(*(debit(n) for n in range(12)))
    assert results.count(True) == 3
    async with committed() as session:
        balance = await session.scalar(
            select(Wallet.balance_cents).where(Wallet.organization_id == org)
        )
        assert balance == 100
        assert await repository.ledger_sum(session, org) == 100
        debits = await session.scalar(
            select(func.count()).where(
                PaymentTransaction.organization_id == org, PaymentTransaction.kind == "debit"
            )
        )
        assert debits == 3
