"""The set-based bound of a billing run: the same renewals done by a handful of plain SQL
statements over the whole batch, in one transaction. One `SELECT` over the due subscriptions
(kept in a temporary table) feeds the ledger entries, the cycles, the activity entries and the
events; the subscriptions' periods and the wallets' balances move in one statement each.

It writes what `billing.service.renew_batch` writes for a renewal the wallet can pay, column for
column (amounts, periods, descriptions, idempotency and dedupe keys), except the invoice (its
document, its number, its `invoice.issued` event); `fingerprint` compares the two. Not covered:
failed renewals, free plans, and the people told (the benchmark's organizations have none).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import text

from skypanel.kit.db import create_engine

DAY = "'Mon FMDD, YYYY'"

STATEMENTS = [
    f"""
    CREATE TEMPORARY TABLE renewal ON COMMIT DROP AS
    SELECT s.id AS subscription_id, s.organization_id, s.periods_billed + 1 AS periods_billed,
        s.current_period_end AS period_start, e.period_end, p.id AS plan_id,
        p.name AS plan_name, p.price_monthly_cents AS price, w.id AS wallet_id, w.currency,
        w.balance_cents - p.price_monthly_cents AS balance_after,
        (p.price_monthly_cents / 100) || '.' || lpad((p.price_monthly_cents % 100)::text, 2, '0')
            AS amount,
        p.name || ' plan, ' || to_char(s.current_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD')
            || ' to ' || to_char(e.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS description,
        to_char(s.current_period_end AT TIME ZONE 'UTC', {DAY}) || ' to '
            || to_char(e.period_end AT TIME ZONE 'UTC', {DAY}) AS period,
        gen_random_uuid() AS cycle_id, gen_random_uuid() AS entry_id
    FROM container_subscriptions AS s
    JOIN container_plans AS p ON p.id = s.plan_id
    JOIN wallets AS w ON w.organization_id = s.organization_id
    CROSS JOIN LATERAL (
        SELECT (s.anchor_at AT TIME ZONE 'UTC' + make_interval(months => s.periods_billed + 1))
            AT TIME ZONE 'UTC' AS period_end
    ) AS e
    WHERE s.status = 'active' AND s.current_period_end <= :now
        AND p.price_monthly_cents > 0 AND w.balance_cents >= p.price_monthly_cents
    """,
    "ANALYZE renewal",
    """
    INSERT INTO payment_transactions (id, wallet_id, organization_id, amount_cents,
        balance_after_cents, currency, kind, description, reference_type, reference_id,
        idempotency_key, created_at)
    SELECT entry_id, wallet_id, organization_id, -price, balance_after, currency, 'debit',
        description, 'billing_cycle', cycle_id, 'cycle:' || cycle_id, :now
    FROM renewal
    """,
    """
    INSERT INTO container_billing_cycles (id, subscription_id, organization_id, plan_id, kind,
        billing_period_start, billing_period_end, monthly_rate_cents, amount_cents,
        refunded_cents, status, attempts, payment_transaction_id, created_at, updated_at)
    SELECT cycle_id, subscription_id, organization_id, plan_id, 'renewal', period_start,
        period_end, price, price, 0, 'billed', 1, entry_id, :now, :now
    FROM renewal
    """,
    """
    INSERT INTO activity_logs (id, event_type, message, organization_id, entity_type, entity_id,
        status, metadata, created_at)
    SELECT gen_random_uuid(), 'container.billing.charge',
        'Charged ' || amount || ' for ' || plan_name, organization_id, 'container_billing_cycle',
        cycle_id, 'success', jsonb_build_object('amount', amount, 'kind', 'renewal'), :now
    FROM renewal
    """,
    """
    INSERT INTO events (id, type, organization_id, data, dedupe_key, occurred_at)
    SELECT gen_random_uuid(), 'wallet.debited', organization_id,
        jsonb_build_object('entryId', entry_id::text, 'kind', 'debit', 'amount', amount,
            'currency', currency, 'description', description,
            'balanceAfter', (balance_after / 100) || '.'
                || lpad((balance_after % 100)::text, 2, '0')),
        'ledger:' || entry_id, CAST(:now AS timestamptz)
    FROM renewal
    UNION ALL
    SELECT gen_random_uuid(), 'subscription.renewed', organization_id,
        jsonb_build_object('plan', plan_name, 'amount', '$' || amount, 'period', period),
        'renewed:' || cycle_id, CAST(:now AS timestamptz)
    FROM renewal
    ON CONFLICT (dedupe_key) DO NOTHING
    """,
    """
    UPDATE container_subscriptions AS s
    SET current_period_start = r.period_start, current_period_end = r.period_end,
        periods_billed = r.periods_billed, updated_at = :now
    FROM renewal AS r WHERE s.id = r.subscription_id
    """,
    """
    UPDATE wallets AS w SET balance_cents = r.balance_after, updated_at = :now
    FROM renewal AS r WHERE w.id = r.wallet_id
    """,
]

FINGERPRINT = """
SELECT
    (SELECT md5(string_agg(md5(concat_ws(',', id, status, current_period_start, current_period_end,
        periods_billed, grace_until, updated_at)), '' ORDER BY id)) FROM container_subscriptions),
    (SELECT md5(string_agg(md5(concat_ws(',', id, balance_cents, updated_at)), '' ORDER BY id))
        FROM wallets),
    (SELECT md5(string_agg(md5(concat_ws(',', c.subscription_id, c.organization_id, c.plan_id,
        c.kind, c.billing_period_start, c.billing_period_end, c.monthly_rate_cents,
        c.amount_cents, c.refunded_cents, c.status, c.attempts, c.effective_end,
        c.failure_reason, c.created_at, c.updated_at, t.wallet_id, t.amount_cents,
        t.balance_after_cents, t.currency, t.kind, t.description, t.created_at,
        t.idempotency_key = 'cycle:' || c.id, t.reference_type, t.reference_id = c.id,
        a.event_type, a.message, a.status, a.metadata, a.entity_type, a.created_at,
        d.data - 'entryId', d.data ->> 'entryId' = t.id::text, d.occurred_at,
        r.data, r.occurred_at)), '' ORDER BY c.subscription_id))
    FROM container_billing_cycles AS c
    JOIN payment_transactions AS t ON t.id = c.payment_transaction_id
    JOIN activity_logs AS a ON a.entity_id = c.id
    JOIN events AS d ON d.dedupe_key = 'ledger:' || t.id
    JOIN events AS r ON r.dedupe_key = 'renewed:' || c.id),
    (SELECT count(*) FROM payment_transactions),
    (SELECT count(*) FROM activity_logs),
    (SELECT count(*) FROM events WHERE type <> 'invoice.issued')
"""
"""What both ways of renewing must leave identical (ids aside, which are random): every
subscription and wallet, each cycle with its ledger entry, activity entry and events, and the
row counts (so neither writes extra rows). Each row is hashed first, so a million rows
aggregate to 32 MB of text, not to the rows themselves."""


async def set_based_renewals(url: str, now: datetime) -> tuple[int, float]:
    """Renew everything due at `now` with `STATEMENTS`: (renewals, seconds to commit)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    params: dict[str, Any] = {"now": now}
    try:
        async with engine.connect() as connection:
            started = time.perf_counter()
            async with connection.begin():
                counts = [
                    (await connection.execute(text(statement), params)).rowcount
                    for statement in STATEMENTS
                ]
            elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return counts[-1], elapsed


async def fingerprint(url: str) -> tuple[Any, ...]:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return tuple((await connection.execute(text(FINGERPRINT))).one())
    finally:
        await engine.dispose()
