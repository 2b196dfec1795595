"""Any sequence of wallet operations keeps balance == sum(ledger) >= 0."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.models import Organization, PaymentTransaction, Wallet
from skypanel.wallet import repository
from skypanel.wallet import service as wallet

operations = st.lists(
    st.tuples(
        st.sampled_from(["credit", "debit", "refund", "adjustment"]),
        st.integers(min_value=-50_000, max_value=50_000).filter(lambda n: n != 0),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
async def test_any_sequence_keeps_the_ledger_equal_to_a_non_negative_balance(
    db: async_sessionmaker[AsyncSession], ops: list[tuple[str, int, bool]]
) -> None:
    async with db() as session:
        org = Organization(id=uuid.uuid4(), name="Prop", slug=f"prop-{uuid.uuid4().hex[:12]}")
        session.add(org)
        await session.flush()
        session.add(wallet.new_wallet(org.id))
        await session.flush()
        model_balance = 0
        model_keys: dict[str, tuple[str, int]] = {}
        for n, (kind, amount, reuse_key) in enumerate(ops):
            key = "reused" if reuse_key else f"op-{n}"
            signed = (
                amount if kind == "adjustment" else (-1 if kind == "debit" else 1) * abs(amount)
            )
            if key in model_keys:
                outcome = "replay" if model_keys[key] == (kind, signed) else "mismatch"
            elif model_balance + signed < 0:
                outcome = "insufficient"
            else:
                outcome = "applied"
                model_balance += signed
                model_keys[key] = (kind, signed)
            try:
                async with session.begin_nested():
                    entry = await wallet.post(
                        session,
                        org.id,
                        kind=kind,
                        amount_cents=amount,
                        description=kind,
                        idempotency_key=key,
                    )
            except wallet.InsufficientBalance:
                assert outcome == "insufficient"
            except wallet.IdempotencyMismatch:
                assert outcome == "mismatch"
            else:
                assert outcome in ("applied", "replay")
                assert (entry.kind, entry.amount_cents) == model_keys[key]
        balance = await session.scalar(
            select(Wallet.balance_cents).where(Wallet.organization_id == org.id)
        )
        assert balance is not None
        assert balance >= 0
        assert balance == await repository.ledger_sum(session, org.id)
        assert balance == model_balance
        after = (
            await session.scalars(
                select(PaymentTransaction.balance_after_cents)
                .where(PaymentTransaction.organization_id == org.id)
                .order_by(PaymentTransaction.created_at, PaymentTransaction.id)
            )
        ).all()
        assert all(b >= 0 for b in after)
        await session.rollback()
