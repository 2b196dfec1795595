"""Many due subscriptions at once, written with set-based SQL (seconds for thousands)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.kit.periods import add_months

SEED_SQL = """
WITH orgs AS (
    INSERT INTO organizations (id, name, slug, personal, created_at, updated_at)
    SELECT gen_random_uuid(), 'Seed ' || n, :prefix || '-' || n, false, now(), now()
    FROM generate_series(1, :count) AS n
    RETURNING id
), wallets AS (
    INSERT INTO wallets (id, organization_id, currency, balance_cents, created_at, updated_at)
    SELECT gen_random_uuid(), id, 'USD', :balance, now(), now() FROM orgs
    RETURNING id, organization_id
), credits AS (
    INSERT INTO payment_transactions (id, wallet_id, organization_id, amount_cents,
        balance_after_cents, currency, kind, description, idempotency_key, created_at)
    SELECT gen_random_uuid(), id, organization_id, :balance, :balance, 'USD', 'credit',
        'Seed credit', 'seed-credit', now()
    FROM wallets WHERE :balance > 0
)
INSERT INTO container_subscriptions (id, organization_id, plan_id, status, anchor_at,
    current_period_start, current_period_end, periods_billed, provisioning_status,
    suspended_services, created_at, updated_at)
SELECT gen_random_uuid(), id, :plan, 'active', :anchor, :anchor, :due, 1, 'ready', '[]',
    now(), now()
FROM orgs
"""


async def seed_due_subscriptions(
    sessions: async_sessionmaker[AsyncSession],
    *,
    count: int,
    plan_id: uuid.UUID,
    due: datetime,
    balance_cents: int,
) -> str:
    """`count` organizations, each with a wallet and a subscription due for renewal at `due`."""
    prefix = f"seed-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        await session.execute(
            text(SEED_SQL),
            {
                "prefix": prefix,
                "count": count,
                "balance": balance_cents,
                "plan": plan_id,
                "anchor": add_months(due, -1),
                "due": due,
            },
        )
        await session.commit()
    return prefix
