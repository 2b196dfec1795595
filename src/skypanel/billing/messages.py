"""What billing tells an organization's owners and admins, one function per kind of message.

Each message's `dedupe_key` names the fact it reports, so a rerun, a retry or a second worker
tells nobody twice (`notices.service.emit` writes an event once per key).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.kit.money import format_money
from skypanel.notices.service import Fact, emit


def dollars(cents: int) -> str:
    """1000 -> "$10.00"."""
    return f"${format_money(cents)}"


def day(at: datetime) -> str:
    """Dec 4, 2026."""
    return _day(at.year, at.month, at.day)


@lru_cache(maxsize=1024)
def _day(year: int, month: int, number: int) -> str:
    """Remembered by the calendar day (so whatever the time zone of the moment): a billing
    run's messages name the same few days thousands of times, and `strftime` is slow."""
    return f"{date(year, month, number):%b} {number}, {year}"


def stamp(at: datetime) -> str:
    """A moment as a key part: 20261204T100000."""
    return f"{at:%Y%m%dT%H%M%S}"


def renewed(
    organization_id: uuid.UUID,
    cycle_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    start: datetime,
    end: datetime,
) -> Fact:
    return Fact(
        "subscription.renewed",
        f"renewed:{cycle_id}",
        {"plan": plan, "amount": dollars(amount_cents), "period": f"{day(start)} to {day(end)}"},
        organization_id,
    )


def renewal_failed(
    organization_id: uuid.UUID,
    cycle_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    balance_cents: int,
    grace_until: datetime,
) -> Fact:
    return Fact(
        "subscription.renewal_failed",
        f"renewal_failed:{cycle_id}",
        {
            "plan": plan,
            "amount": dollars(amount_cents),
            "balance": dollars(balance_cents),
            "grace_until": day(grace_until),
        },
        organization_id,
    )


async def renewal_reminder(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    balance_cents: int,
    renews_at: datetime,
) -> None:
    await emit(
        session,
        "subscription.renewal_reminder",
        dedupe_key=f"renewal_reminder:{subscription_id}:{renews_at:%Y%m%d}",
        organization_id=organization_id,
        data={
            "plan": plan,
            "amount": dollars(amount_cents),
            "balance": dollars(balance_cents),
            "covered": balance_cents >= amount_cents,
            "renews_on": day(renews_at),
        },
    )


async def low_balance(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    amount_cents: int,
    balance_cents: int,
    until: datetime,
) -> None:
    await emit(
        session,
        "wallet.low_balance",
        dedupe_key=f"low_balance:{subscription_id}:{until:%Y%m%d}",
        organization_id=organization_id,
        data={
            "amount": dollars(amount_cents),
            "balance": dollars(balance_cents),
            "until": day(until),
        },
    )


async def suspension_tomorrow(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    grace_until: datetime,
) -> None:
    await emit(
        session,
        "subscription.suspension_tomorrow",
        dedupe_key=f"suspension_tomorrow:{subscription_id}:{stamp(grace_until)}",
        organization_id=organization_id,
        data={"plan": plan, "amount": dollars(amount_cents), "grace_until": day(grace_until)},
    )


async def suspended(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    suspended_at: datetime,
    terminates_at: datetime,
) -> None:
    await emit(
        session,
        "subscription.suspended",
        dedupe_key=f"suspended:{subscription_id}:{stamp(suspended_at)}",
        organization_id=organization_id,
        data={"plan": plan, "amount": dollars(amount_cents), "terminates_on": day(terminates_at)},
    )


async def resumed(
    session: AsyncSession, organization_id: uuid.UUID, cycle_id: uuid.UUID, *, plan: str
) -> None:
    await emit(
        session,
        "subscription.resumed",
        dedupe_key=f"resumed:{cycle_id}",
        organization_id=organization_id,
        data={"plan": plan},
    )


async def termination_warning(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    plan: str,
    amount_cents: int,
    suspended_at: datetime,
    terminates_at: datetime,
) -> None:
    await emit(
        session,
        "subscription.termination_warning",
        dedupe_key=f"termination_warning:{subscription_id}:{stamp(suspended_at)}",
        organization_id=organization_id,
        data={
            "plan": plan,
            "amount": dollars(amount_cents),
            "suspended_on": day(suspended_at),
            "terminates_on": day(terminates_at),
        },
    )


async def terminated(
    session: AsyncSession,
    organization_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    plan: str,
    days: int,
) -> None:
    await emit(
        session,
        "subscription.terminated",
        dedupe_key=f"terminated:{subscription_id}",
        organization_id=organization_id,
        data={"plan": plan, "days": days},
    )
