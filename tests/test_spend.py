from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import EasypanelServer
from skypanel.subscriptions.repository import monthly_spend
from tests.billing.helpers import bill_at, subscribe_at
from tests.support import Account, clock_at, credit, make_plan


async def test_monthly_spend_nets_refunds_by_month(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> None:
    plan = await make_plan(db, price_cents=3000)
    await credit(db, alice.organization_id, 10_000)
    start = datetime(2027, 4, 1, tzinfo=UTC)
    await subscribe_at(client, alice, plan, start)
    await bill_at(client, db, datetime(2027, 5, 1, 1, tzinfo=UTC))
    with clock_at(lambda: datetime(2027, 5, 16, tzinfo=UTC)):
        await client.delete(
            "/api/containers/subscription",
            headers=alice.headers,
            params={"confirm": "test-user-s-organization"},
        )
    async with db() as session:
        spend = await monthly_spend(session, alice.organization_id)
    # 16 of May's 31 days were unused: 3000 * 16 / 31 = 1548.39, refunded 15.48
    assert spend == [("2027-04", 3000), ("2027-05", 3000 - 1548)]
