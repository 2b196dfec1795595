"""The only writer of wallets: lock the row, append to the ledger, move the balance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import clock
from skypanel.kit.errors import AppError, Conflict, NotFound
from skypanel.kit.money import CURRENCY, format_money
from skypanel.models import PaymentTransaction, Wallet
from skypanel.wallet import repository


class InsufficientBalance(AppError):
    code = "INSUFFICIENT_BALANCE"
    status = 402


class WalletNotFound(NotFound):
    code = "WALLET_NOT_FOUND"


class IdempotencyMismatch(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"


_SIGNS = {"credit": 1, "refund": 1, "debit": -1}


@dataclass(frozen=True, slots=True)
class Reference:
    type: str
    id: uuid.UUID


def new_wallet(organization_id: uuid.UUID) -> Wallet:
    return Wallet(
        id=uuid.uuid4(), organization_id=organization_id, balance_cents=0, currency=CURRENCY
    )


async def post(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    kind: str,
    amount_cents: int,
    description: str,
    idempotency_key: str,
    reference: Reference | None = None,
    actor_id: uuid.UUID | None = None,
) -> PaymentTransaction:
    """Append one ledger entry and move the balance, under the wallet's row lock.

    `amount_cents` is signed for adjustments and a positive magnitude for the other kinds.
    The same idempotency key returns the entry already written (and refuses a different amount).
    A debit that would take the balance below zero raises `InsufficientBalance`, writing nothing.
    """
    signed = amount_cents if kind == "adjustment" else _SIGNS[kind] * abs(amount_cents)
    if signed == 0:
        raise ValueError("a ledger entry cannot be zero")
    wallet = await repository.lock(session, organization_id)
    if wallet is None:
        raise WalletNotFound("The organization has no wallet")
    existing = await repository.entry_by_key(session, wallet.id, idempotency_key)
    if existing is not None:
        if existing.amount_cents != signed or existing.kind != kind:
            raise IdempotencyMismatch(
                "This idempotency key was already used for a different entry",
                idempotencyKey=idempotency_key,
            )
        return existing
    if wallet.balance_cents + signed < 0:
        raise InsufficientBalance(
            "The wallet balance is too low",
            required=format_money(-signed),
            available=format_money(wallet.balance_cents),
            currency=wallet.currency,
        )
    entry = _append(wallet, kind, signed, description, idempotency_key, reference, actor_id)
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class Debit:
    """One charge of a batch (`debit_many`); its idempotency key must be new."""

    organization_id: uuid.UUID
    amount_cents: int
    description: str
    idempotency_key: str
    reference: Reference


async def debit_many(
    session: AsyncSession, debits: Sequence[Debit]
) -> list[PaymentTransaction | None]:
    """Charge many wallets in one go: all their rows locked at once (in id order, so batches
    never deadlock), each debit applied in order, written with a few statements.

    A debit the wallet cannot cover gets None and writes nothing; the others go through.
    """
    wallets = {
        wallet.organization_id: wallet
        for wallet in await repository.lock_many(session, {d.organization_id for d in debits})
    }
    entries: list[PaymentTransaction | None] = []
    for debit in debits:
        wallet = wallets.get(debit.organization_id)
        if wallet is None or debit.amount_cents <= 0:
            raise ValueError(f"cannot debit {debit.amount_cents} from {debit.organization_id}")
        if wallet.balance_cents < debit.amount_cents:
            entries.append(None)
            continue
        entry = _append(
            wallet,
            "debit",
            -debit.amount_cents,
            debit.description,
            debit.idempotency_key,
            debit.reference,
            None,
        )
        session.add(entry)
        entries.append(entry)
    await session.flush()
    return entries


def _append(
    wallet: Wallet,
    kind: str,
    signed: int,
    description: str,
    idempotency_key: str,
    reference: Reference | None,
    actor_id: uuid.UUID | None,
) -> PaymentTransaction:
    """Move the (locked) wallet's balance and build the ledger line that records it."""
    wallet.balance_cents += signed
    wallet.updated_at = clock.now()
    return PaymentTransaction(
        id=uuid.uuid4(),
        wallet_id=wallet.id,
        organization_id=wallet.organization_id,
        amount_cents=signed,
        balance_after_cents=wallet.balance_cents,
        currency=wallet.currency,
        kind=kind,
        description=description,
        reference_type=reference.type if reference else None,
        reference_id=reference.id if reference else None,
        idempotency_key=idempotency_key,
        actor_user_id=actor_id,
        created_at=clock.now(),
    )
