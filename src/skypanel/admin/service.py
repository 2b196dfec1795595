from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.accounts import repository as users
from skypanel.accounts import service as accounts
from skypanel.activity.service import record
from skypanel.kit.errors import InvalidInput, NotFound
from skypanel.kit.money import format_money
from skypanel.models import PaymentTransaction, User
from skypanel.wallet import service as wallet


async def adjust_wallet(
    session: AsyncSession,
    admin: User,
    organization_id: uuid.UUID,
    *,
    amount_cents: int,
    description: str,
    idempotency_key: str,
) -> PaymentTransaction:
    """Credit (positive) or debit (negative) an organization's wallet, with a reason, audited."""
    if amount_cents == 0:
        raise InvalidInput("The amount cannot be zero", field="amount")
    entry = await wallet.post(
        session,
        organization_id,
        kind="adjustment",
        amount_cents=amount_cents,
        description=description,
        idempotency_key=f"admin-adjustment:{idempotency_key}",
        actor_id=admin.id,
    )
    await record(
        session,
        "wallet.adjustment",
        f"Wallet adjusted by {format_money(amount_cents)}: {description}",
        organization_id=organization_id,
        user_id=admin.id,
        entity_type="payment_transaction",
        entity_id=entry.id,
        metadata={
            "amount": format_money(amount_cents),
            "balanceAfter": format_money(entry.balance_after_cents),
        },
    )
    return entry


async def update_user(
    session: AsyncSession, admin: User, user_id: uuid.UUID, *, role: str | None, active: bool | None
) -> User:
    """Change a user's platform role or disable the account (which ends its sessions)."""
    user = await users.get(session, user_id)
    if user is None:
        raise NotFound("User not found")
    if user.id == admin.id and (role == "user" or active is False):
        raise InvalidInput("Administrators cannot demote or disable themselves")
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        user.role = role
        changes["role"] = role
    if active is not None and active != user.is_active:
        user.is_active = active
        changes["isActive"] = active
    if active is False and "isActive" in changes:
        await accounts.end_sessions(session, user)
    elif changes:
        user.token_version += 1
    if changes:
        await record(
            session,
            "admin.user.update",
            f"User {user.email} updated",
            user_id=admin.id,
            entity_type="user",
            entity_id=user.id,
            metadata=changes,
        )
    return user
