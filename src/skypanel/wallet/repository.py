from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import bulk
from skypanel.kit.pagination import newest_first
from skypanel.kit.tenancy import scoped
from skypanel.models import PaymentTransaction, Wallet


async def of_organization(session: AsyncSession, organization_id: uuid.UUID) -> Wallet | None:
    return await session.scalar(scoped(select(Wallet), Wallet, organization_id))


async def lock(session: AsyncSession, organization_id: uuid.UUID) -> Wallet | None:
    """The one place that locks a wallet row: every writer to a wallet goes through here."""
    return await session.scalar(
        scoped(select(Wallet), Wallet, organization_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_many(
    session: AsyncSession, organization_ids: set[uuid.UUID]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Lock several wallets, always in id order (so concurrent batches cannot deadlock)."""
    rows = await session.execute(
        select(Wallet.id, Wallet.organization_id, Wallet.balance_cents, Wallet.currency)
        .where(Wallet.organization_id == bulk.any_of(organization_ids))
        .order_by(Wallet.id)
        .with_for_update()
    )
    return rows.all()


async def entry_by_key(
    session: AsyncSession, wallet_id: uuid.UUID, idempotency_key: str
) -> PaymentTransaction | None:
    return await session.scalar(
        select(PaymentTransaction).where(
            PaymentTransaction.wallet_id == wallet_id,
            PaymentTransaction.idempotency_key == idempotency_key,
        )
    )


async def entries(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[PaymentTransaction]:
    query = scoped(select(PaymentTransaction), PaymentTransaction, organization_id)
    if kind:
        query = query.where(PaymentTransaction.kind == kind)
    query = newest_first(
        query, PaymentTransaction.created_at, PaymentTransaction.id, cursor=cursor, limit=limit
    )
    return (await session.scalars(query)).all()


async def ledger_sum(session: AsyncSession, organization_id: uuid.UUID) -> int:
    total = await session.scalar(
        scoped(
            select(func.coalesce(func.sum(PaymentTransaction.amount_cents), 0)),
            PaymentTransaction,
            organization_id,
        )
    )
    return int(total or 0)
