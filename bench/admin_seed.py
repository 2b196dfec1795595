"""The admin benchmark's platform, written with set-based SQL (generate_series): organizations
named after ten companies, users, wallets, subscriptions over three plans and four statuses,
two projects each, services of every type and several statuses with names from ten words
(the 2 % oldest renamed `old-<n>`), and one billing cycle per subscription in the last 40 days.
Creation times are spread over two years (a fixed seed)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

WORDS = ["web", "api", "worker", "db", "cache", "queue", "admin", "shop", "blog", "auth"]
COMPANIES = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
]
SEED_SQL = [
    "SELECT setseed(0.17)",
    """
    INSERT INTO container_plans (id, name, price_monthly_cents, currency, max_cpu_cores,
        max_memory_gb, max_storage_gb, max_containers)
    SELECT md5(:run || 'plan' || n)::uuid, 'Plan ' || n, 500 * n, 'USD', 64, 256, 1000, 100
    FROM generate_series(1, 3) AS n
    """,
    """
    INSERT INTO organizations (id, name, slug, personal, created_at, updated_at)
    SELECT md5(:run || 'o' || n)::uuid, (CAST(:companies AS text[]))[1 + n % 10] || ' ' || n,
        (CAST(:companies AS text[]))[1 + n % 10] || '-' || n, false,
        now() - random() * interval '730 days', now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO users (id, email, name, password_hash, role, is_active, token_version,
        created_at, updated_at)
    SELECT md5(:run || 'u' || n)::uuid, 'user-' || n || '@example.com', 'User ' || n, '-',
        'user', true, 0, now() - random() * interval '730 days', now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO wallets (id, organization_id, currency, balance_cents, created_at, updated_at)
    SELECT md5(:run || 'w' || n)::uuid, md5(:run || 'o' || n)::uuid, 'USD', 5000, now(), now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_subscriptions (id, organization_id, plan_id, server_id, status,
        anchor_at, current_period_start, current_period_end, periods_billed,
        provisioning_status, suspended_services, created_at, updated_at)
    SELECT md5(:run || 's' || n)::uuid, md5(:run || 'o' || n)::uuid,
        md5(:run || 'plan' || (1 + n % 3))::uuid, :server,
        CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n % 20 = 1 THEN 'past_due'
             WHEN n % 50 = 2 THEN 'suspended' ELSE 'active' END,
        now(), now(), now() + interval '1 month', 1, 'ready', '[]',
        now() - random() * interval '730 days', now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_projects (id, organization_id, subscription_id, server_id,
        project_name, easypanel_project_name, status, metadata, created_at, updated_at)
    SELECT md5(:run || 'p' || n || '-' || p)::uuid, md5(:run || 'o' || n)::uuid,
        md5(:run || 's' || n)::uuid, :server, 'p' || p, 'o' || n || '-p' || p,
        'active', '{}', now(), now()
    FROM generate_series(1, :orgs) AS n, generate_series(1, 2) AS p
    """,
    """
    INSERT INTO container_services (id, project_id, organization_id, service_name,
        easypanel_service_name, server_id, swarm_name, service_type, status, desired_state,
        cpu_limit, memory_limit_gb, storage_limit_gb, configuration, created_at, updated_at)
    SELECT gen_random_uuid(), md5(:run || 'p' || n || '-' || p)::uuid,
        md5(:run || 'o' || n)::uuid, name, name, :server, 'o' || n || '-p' || p || '_' || name,
        (ARRAY['app', 'app', 'app', 'postgres', 'redis', 'mysql', 'mongo', 'mariadb',
               'wordpress', 'app'])[1 + (n + s) % 10],
        (ARRAY['running', 'running', 'running', 'running', 'running', 'running', 'stopped',
               'failed', 'deploying', 'running'])[1 + (n * 7 + s) % 10],
        'running', 0.25, 0.5, 1, '{}', now() - random() * interval '730 days', now()
    FROM generate_series(1, :orgs) AS n, generate_series(1, 2) AS p,
        generate_series(1, :per_project) AS s,
        LATERAL (SELECT (CAST(:words AS text[]))[1 + (n + p + s) % 10] || '-' || s AS name) AS named
    """,
    """
    UPDATE container_services SET service_name = 'old-' || n FROM (
        SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM container_services
        ORDER BY created_at LIMIT :services / 50
    ) AS oldest WHERE oldest.id = container_services.id
    """,
    """
    INSERT INTO container_billing_cycles (id, subscription_id, organization_id, plan_id, kind,
        billing_period_start, billing_period_end, monthly_rate_cents, amount_cents, status,
        attempts, created_at, updated_at)
    SELECT gen_random_uuid(), md5(:run || 's' || n)::uuid, md5(:run || 'o' || n)::uuid,
        md5(:run || 'plan' || (1 + n % 3))::uuid, 'renewal', starts, starts + interval '1 month',
        500, 500, CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'billed' END, 1, starts, starts
    FROM generate_series(1, :orgs) AS n,
        LATERAL (SELECT now() - random() * interval '40 days' AS starts) AS at
    """,
]


async def seed(
    sessions: async_sessionmaker[AsyncSession], *, services: int, subscriptions: int
) -> dict[str, Any]:
    """`subscriptions` organizations, each with an owner, a wallet, a subscription, a billing
    cycle and two projects, and about `services` services between them; returns the
    parameters (`server`: the one server's id)."""
    orgs = subscriptions
    params = {
        "run": uuid.uuid4().hex[:6],
        "orgs": orgs,
        "per_project": max(1, services // (orgs * 2)),
        "services": services,
        "server": uuid.uuid4(),
        "words": WORDS,
        "companies": COMPANIES,
    }
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO easypanel_config (id, name, api_url, api_key_encrypted,"
                " api_key_last4) VALUES (:server, 'bench', 'http://127.0.0.1:1', '-', '0000')"
            ),
            params,
        )
        for statement in SEED_SQL:
            await session.execute(text(statement), params)
        await session.commit()
    return params
