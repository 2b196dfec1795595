"""The only writer of wallets: lock the row, append to the ledger, move the balance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit import bulk, clock
from skypanel.kit.errors import AppError, Conflict, NotFound
from skypanel.kit.money import CURRENCY, format_money
from skypanel.models import PaymentTransaction, Wallet
from skypanel.notices import service as notices
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
    await notices.record(
        session,
        [
            _fact(
                entry.id,
                entry.organization_id,
                signed,
                kind,
                entry.balance_after_cents,
                description,
                entry.currency,
            )
        ],
    )
    return entry


@dataclass(frozen=True, slots=True)
class Debit:
    """One charge: posted alone (`charge`) or in a batch (`debit_many`, where its idempotency
    key must be new)."""

    organization_id: uuid.UUID
    amount_cents: int
    description: str
    idempotency_key: str
    reference: Reference


async def charge(
    session: AsyncSession, debit: Debit, *, actor_id: uuid.UUID | None = None
) -> PaymentTransaction:
    """Post one debit under the wallet's lock (`post`; raises `InsufficientBalance`)."""
    return await post(
        session,
        debit.organization_id,
        kind="debit",
        amount_cents=debit.amount_cents,
        description=debit.description,
        idempotency_key=debit.idempotency_key,
        reference=debit.reference,
        actor_id=actor_id,
    )


async def debit_many(session: AsyncSession, debits: Sequence[Debit]) -> list[uuid.UUID | None]:
    """Charge many wallets in one go: their rows locked at once (in id order, so batches never
    deadlock), each debit applied in order, everything written with two bulk statements.

    Returns the ledger entry id of each debit, or None for one the wallet could not cover
    (nothing is written for it). Used by billing runs, where per-row ORM work would dominate.
    """
    wallets = {
        row.organization_id: [row.id, row.balance_cents, row.currency]
        for row in await repository.lock_many(session, {d.organization_id for d in debits})
    }
    now = clock.now()
    entries: list[dict[str, Any]] = []
    results: list[uuid.UUID | None] = []
    for debit in debits:
        wallet_id, balance, currency = wallets[debit.organization_id]
        if debit.amount_cents <= 0:
            raise ValueError(f"cannot debit {debit.amount_cents}")
        if balance < debit.amount_cents:
            results.append(None)
            continue
        balance -= debit.amount_cents
        wallets[debit.organization_id][1] = balance
        line = _line(
            wallet_id=wallet_id,
            organization_id=debit.organization_id,
            currency=currency,
            kind="debit",
            signed=-debit.amount_cents,
            balance_after=balance,
            description=debit.description,
            idempotency_key=debit.idempotency_key,
            reference=debit.reference,
            actor_id=None,
            now=now,
        )
        entries.append(line)
        results.append(line["id"])
    if entries:
        await bulk.insert_rows(session, PaymentTransaction, entries)
        await bulk.update_rows(
            session,
            Wallet,
            [{"id": w[0], "balance_cents": w[1], "updated_at": now} for w in wallets.values()],
        )
        await notices.record(
            session,
            [
                _fact(
                    e["id"],
                    e["organization_id"],
                    e["amount_cents"],
                    e["kind"],
                    e["balance_after_cents"],
                    e["description"],
                    e["currency"],
                )
                for e in entries
            ],
        )
    return results


def _fact(
    entry_id: uuid.UUID,
    organization_id: uuid.UUID,
    signed: int,
    kind: str,
    balance_after: int,
    description: str,
    currency: str,
) -> notices.Fact:
    """`wallet.credited` or `wallet.debited` for the webhooks, once per ledger entry."""
    return notices.Fact(
        "wallet.credited" if signed > 0 else "wallet.debited",
        f"ledger:{entry_id}",
        {
            "entryId": str(entry_id),
            "kind": kind,
            "amount": format_money(abs(signed)),
            "currency": currency,
            "balanceAfter": format_money(balance_after),
            "description": description,
        },
        organization_id,
    )


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
    now = clock.now()
    wallet.balance_cents += signed
    wallet.updated_at = now
    return PaymentTransaction(
        **_line(
            wallet_id=wallet.id,
            organization_id=wallet.organization_id,
            currency=wallet.currency,
            kind=kind,
            signed=signed,
            balance_after=wallet.balance_cents,
            description=description,
            idempotency_key=idempotency_key,
            reference=reference,
            actor_id=actor_id,
            now=now,
        )
    )


def _line(
    *,
    wallet_id: uuid.UUID,
    organization_id: uuid.UUID,
    currency: str,
    kind: str,
    signed: int,
    balance_after: int,
    description: str,
    idempotency_key: str,
    reference: Reference | None,
    actor_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    """The columns of one ledger line: the one builder of `post` and of `debit_many`."""
    return {
        "id": uuid.uuid4(),
        "wallet_id": wallet_id,
        "organization_id": organization_id,
        "amount_cents": signed,
        "balance_after_cents": balance_after,
        "currency": currency,
        "kind": kind,
        "description": description,
        "reference_type": reference.type if reference else None,
        "reference_id": reference.id if reference else None,
        "idempotency_key": idempotency_key,
        "actor_user_id": actor_id,
        "created_at": now,
    }
