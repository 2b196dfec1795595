"""The worker's re-check of pending domains: claim a batch (`FOR UPDATE SKIP LOCKED`, marked as
checked in one short transaction), look each TXT record up with no transaction open, then record
each outcome in its own transaction (a verified one queues its attachment)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.domains.dns import Check, check_txt
from skypanel.domains.service import record_check
from skypanel.kit import clock
from skypanel.kit.db import transaction
from skypanel.models import ServiceDomain

RECHECK_EVERY = timedelta(minutes=4)
RECHECK_BATCH = 50


async def claim_pending(session: AsyncSession, now: datetime) -> list[tuple[uuid.UUID, str, str]]:
    """Pending domains due for a check, marked as checked now so no other worker takes them."""
    rows = list(
        await session.scalars(
            select(ServiceDomain)
            .where(
                ServiceDomain.status == "pending_verification",
                ServiceDomain.token.is_not(None),
                or_(
                    ServiceDomain.checked_at.is_(None),
                    ServiceDomain.checked_at < now - RECHECK_EVERY,
                ),
            )
            .order_by(ServiceDomain.checked_at.nulls_first())
            .limit(RECHECK_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.checked_at = now
    return [(row.id, row.host, row.token or "") for row in rows]


async def record_recheck(session: AsyncSession, domain_id: uuid.UUID, check: Check) -> bool:
    """The worker's outcome of one check; True when the domain got verified."""
    row = await session.scalar(
        select(ServiceDomain).where(ServiceDomain.id == domain_id).with_for_update()
    )
    if row is None or row.status != "pending_verification":
        return False
    return await record_check(session, row, check, clock.now()) is not None


async def recheck_pending(sessions: async_sessionmaker[AsyncSession], nameservers: str) -> int:
    """Check the pending domains that are due; returns how many got verified."""
    async with transaction(sessions) as session:
        due = await claim_pending(session, clock.now())
    verified = 0
    for domain_id, host, token in due:
        check = await check_txt(nameservers, host.removeprefix("*."), token)
        async with transaction(sessions) as session:
            verified += await record_recheck(session, domain_id, check)
    return verified
