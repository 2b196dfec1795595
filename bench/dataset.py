"""A large platform written with set-based SQL: organizations with an owner, a wallet and a
subscription; projects; services. Users share one password hash (argon2 is slow on purpose)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.accounts.security import hash_password

PLATFORM_SQL = [
    """
    INSERT INTO container_plans (id, name, price_monthly_cents, currency, max_cpu_cores,
        max_memory_gb, max_storage_gb, max_containers, active, created_at, updated_at)
    VALUES (:plan, 'Bench', 1500, 'USD', 64, 256, 1000, 100, true, now(), now())
    """,
    """
    INSERT INTO users (id, email, name, password_hash, role, is_active, token_version,
        created_at, updated_at)
    SELECT md5(:run || 'u' || n)::uuid, 'bench-' || n || '-' || :run || '@example.com',
        'Bench ' || n, :hash, 'user', true, 0, now(), now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO organizations (id, name, slug, personal, created_at, updated_at)
    SELECT md5(:run || 'o' || n)::uuid, 'Bench ' || n, 'b' || :run || '-' || n, false, now(), now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO organization_members (id, organization_id, user_id, role, created_at)
    SELECT gen_random_uuid(), md5(:run || 'o' || n)::uuid, md5(:run || 'u' || n)::uuid,
        'owner', now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO wallets (id, organization_id, currency, balance_cents, created_at, updated_at)
    SELECT md5(:run || 'w' || n)::uuid, md5(:run || 'o' || n)::uuid, 'USD', 5000, now(), now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO payment_transactions (id, wallet_id, organization_id, amount_cents,
        balance_after_cents, currency, kind, description, idempotency_key, created_at)
    SELECT gen_random_uuid(), md5(:run || 'w' || n)::uuid, md5(:run || 'o' || n)::uuid, 5000,
        5000, 'USD', 'credit', 'Bench credit', 'bench-credit', now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_subscriptions (id, organization_id, plan_id, server_id, status,
        anchor_at, current_period_start, current_period_end, periods_billed,
        provisioning_status, suspended_services, created_at, updated_at)
    SELECT md5(:run || 's' || n)::uuid, md5(:run || 'o' || n)::uuid, :plan, :server, 'active',
        now(), now(), now() + interval '1 month', 1, 'ready', '[]', now(), now()
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO container_projects (id, organization_id, subscription_id, server_id,
        project_name, easypanel_project_name, status, metadata, created_at, updated_at)
    SELECT md5(:run || 'p' || n || '-' || p)::uuid, md5(:run || 'o' || n)::uuid,
        md5(:run || 's' || n)::uuid, :server, 'p' || p, 'b' || :run || '-' || n || '-p' || p,
        'active', '{}', now(), now()
    FROM generate_series(1, :orgs) AS n, generate_series(1, :projects) AS p
    """,
    """
    INSERT INTO container_services (id, project_id, organization_id, service_name,
        easypanel_service_name, service_type, status, desired_state, cpu_limit,
        memory_limit_gb, storage_limit_gb, configuration, created_at, updated_at)
    SELECT gen_random_uuid(), md5(:run || 'p' || n || '-' || p)::uuid,
        md5(:run || 'o' || n)::uuid, 's' || s, 's' || s, 'app', 'running', 'running',
        0.25, 0.5, 1, '{}', now(), now()
    FROM generate_series(1, :orgs) AS n, generate_series(1, :projects) AS p,
        generate_series(1, :services) AS s
    """,
]


@dataclass(frozen=True, slots=True)
class Dataset:
    run: str
    organizations: int
    password: str

    def email(self, n: int) -> str:
        return f"bench-{n}-{self.run}@example.com"

    def user_id(self, n: int) -> uuid.UUID:
        import hashlib

        return uuid.UUID(hashlib.md5(f"{self.run}u{n}".encode()).hexdigest())


async def seed_platform(
    sessions: async_sessionmaker[AsyncSession],
    *,
    organizations: int,
    projects_per_org: int,
    services_per_project: int,
    server_id: uuid.UUID,
) -> Dataset:
    run = uuid.uuid4().hex[:6]
    password = "bench password 1234"
    params = {
        "run": run,
        "orgs": organizations,
        "projects": projects_per_org,
        "services": services_per_project,
        "plan": uuid.uuid4(),
        "server": server_id,
        "hash": await hash_password(password),
    }
    async with sessions() as session:
        for statement in PLATFORM_SQL:
            await session.execute(text(statement), params)
        await session.commit()
        await session.execute(text("ANALYZE"))
    return Dataset(run, organizations, password)
