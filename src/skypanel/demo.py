"""Demo data for `skypanel demo`: an administrator and a customer with wallet credit."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository as users
from skypanel.accounts.security import hash_password
from skypanel.accounts.service import create_user
from skypanel.backups import service as backups
from skypanel.backups.schemas import StorageIn
from skypanel.emulator import RunningEmulator
from skypanel.invoices import repository as billing_profiles
from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.models import ContainerPlan
from skypanel.organizations import repository as orgs
from skypanel.organizations.service import create_organization
from skypanel.plans.service import list_plans
from skypanel.servers.service import save as save_server
from skypanel.standins.s3 import RunningS3
from skypanel.wallet import service as wallet

DEMO_ADMIN = "admin@skypanel.test"
DEMO_CUSTOMER = "customer@skypanel.test"
DEMO_CREDIT_CENTS = 100_00


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    email: str
    password: str


async def ensure_admin(database_url: str, email: str, password: str, name: str) -> bool:
    """Create the administrator, or promote the account and set its password. True if created."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await users.by_email(session, email, for_update=True)
            if user is None:
                await create_user(
                    session, email=email, password=password, name=name, role="admin", verified=True
                )
                return True
            user.role = "admin"
            user.password_hash = await hash_password(password)
            user.token_version += 1
            return False
    finally:
        await engine.dispose()


DEMO_PLANS = (
    ("Starter", "One small app and a database", 500, "1", "1", 10, 3),
    ("Pro", "Room for a few production services", 1500, "2", "4", 40, 10),
    ("Business", "Many services with generous resources", 4000, "8", "16", 200, 40),
)


DEMO_BILLING_PROFILE = {
    "legal_name": "Acme Web Studio LLC",
    "address_line1": "100 Market Street",
    "postal_code": "94105",
    "city": "San Francisco",
    "country": "US",
    "is_business": True,
}
"""The demo customer's details on receipts and invoices (needed before a first payment)."""


async def seed_demo(
    database_url: str, emulator: RunningEmulator | None, backup_store: RunningS3 | None = None
) -> list[DemoAccount]:
    """Idempotent: existing demo accounts get fresh passwords, the credit is granted once,
    the plans are created once, the emulator (when given) becomes the Easypanel server and the
    S3 stand-in (when given) the backup storage, unless a real storage is set up."""
    admin_password = secrets.token_urlsafe(12)
    customer_password = secrets.token_urlsafe(12)
    await ensure_admin(database_url, DEMO_ADMIN, admin_password, "Demo Administrator")
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            customer = await users.by_email(session, DEMO_CUSTOMER, for_update=True)
            if customer is None:
                customer = await create_user(
                    session,
                    email=DEMO_CUSTOMER,
                    password=customer_password,
                    name="Demo Customer",
                    verified=True,
                )
                await create_organization(session, customer, "Acme Web Studio")
            else:
                customer.password_hash = await hash_password(customer_password)
                customer.token_version += 1
            found = await orgs.first_membership(session, customer.id)
            assert found is not None
            await wallet.post(
                session,
                found[0].id,
                kind="credit",
                amount_cents=DEMO_CREDIT_CENTS,
                description="Demo credit",
                idempotency_key="demo-credit",
            )
            if await billing_profiles.profile(session, found[0].id) is None:
                await billing_profiles.save_profile(session, found[0].id, DEMO_BILLING_PROFILE)
            if not await list_plans(session, active_only=False):
                for name, description, price, cpu, memory, storage, containers in DEMO_PLANS:
                    session.add(
                        ContainerPlan(
                            id=uuid.uuid4(),
                            name=name,
                            description=description,
                            price_monthly_cents=price,
                            max_cpu_cores=Decimal(cpu),
                            max_memory_gb=Decimal(memory),
                            max_storage_gb=storage,
                            max_containers=containers,
                        )
                    )
            if emulator is not None:
                await save_server(
                    session,
                    None,
                    url=emulator.base_url,
                    api_key=emulator.token,
                    dialect=emulator.dialect,
                    result=None,
                )
            if backup_store is not None:
                await _use_backup_store(session, backup_store)
    finally:
        await engine.dispose()
    return [
        DemoAccount("admin", DEMO_ADMIN, admin_password),
        DemoAccount("customer", DEMO_CUSTOMER, customer_password),
    ]


async def _use_backup_store(session: AsyncSession, store: RunningS3) -> None:
    """The stand-in becomes the backup storage, replacing an earlier demo's stand-in (its port
    changes on every start) but never a storage an administrator set up."""
    current = await backups.storage(session)
    if current is not None and not (current.endpoint or "").startswith("http://127.0.0.1:"):
        return
    admin = await users.by_email(session, DEMO_ADMIN)
    assert admin is not None
    await backups.save_storage(
        session,
        admin,
        StorageIn.model_validate(
            {
                "endpoint": store.endpoint,
                "region": store.region,
                "bucket": store.bucket,
                "accessKeyId": store.access_key_id,
                "secretAccessKey": store.secret_access_key,
            }
        ),
    )
