"""A period is paid at most once: an exclusion constraint over each cycle's paid service.

`effective_end` records where a cycle's paid service ended when a plan change or a cancellation
cut it short (null: at the period's end); the period it was billed for stays as it was. No two
cycles of one subscription that are paid (or being paid) may overlap over
`[billing_period_start, coalesce(effective_end, billing_period_end))` (btree_gist, for the
subscription's equality inside a GiST index).

The unique (subscription, period start) stays for renewals and first charges, where it makes a
billing run idempotent; a proration may start at the same moment as the cycle it replaces (a
change at the very moment a cycle starts leaves that cycle an empty paid service).

Before this revision a plan change moved the old cycle's `billing_period_end` to the moment of
the change, so those cycles already end where their service did. A plan change made after its
period had ended (before the renewal) wrote a zero-amount proration ending before it starts;
those are made empty. A period already paid twice (the bug this revision closes) is refused
with the cycles listed: refunding it is a decision for a person, not for a migration.
Downgrading moves `billing_period_end` back to `effective_end` (the old way of recording it).

Revision ID: 1a2b3c4d5e60
Revises: 4f0c2b7d9e13
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1a2b3c4d5e60"
down_revision: str | None = "4f0c2b7d9e13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "container_billing_cycles"
UNIQUE = "uq_container_billing_cycles_subscription_id_billing_period_start"
RENEWAL_UNIQUE = "uq_container_billing_cycles_renewal_period_start"
PAID = "status IN ('pending', 'billed', 'refunded')"
# Always true given the period check; it keeps the index build from computing the range of the
# row versions the data fix below replaces in this same transaction (still in the heap).
IN_ORDER = "billing_period_start <= billing_period_end"
SERVICE = "tstzrange(billing_period_start, coalesce(effective_end, billing_period_end))"

_DOUBLE_PAID = f"""
SELECT a.subscription_id, a.id, b.id FROM {TABLE} a JOIN {TABLE} b
  ON a.subscription_id = b.subscription_id AND a.id < b.id
WHERE a.{PAID} AND b.{PAID}
  AND tstzrange(a.billing_period_start, a.billing_period_end)
   && tstzrange(b.billing_period_start, b.billing_period_end)
ORDER BY a.subscription_id LIMIT 20
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.add_column(TABLE, sa.Column("effective_end", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        f"UPDATE {TABLE} SET billing_period_end = billing_period_start"
        " WHERE billing_period_end < billing_period_start AND amount_cents = 0"
    )
    double = op.get_bind().execute(sa.text(_DOUBLE_PAID)).all()
    if double:
        listed = ", ".join(f"subscription {s}: cycles {a} and {b}" for s, a, b in double)
        raise RuntimeError(
            "Some periods are paid twice. Refund each overlap and end the earlier cycle where"
            " its paid service ended (set its billing_period_end there, as plan changes did"
            f" before this revision), then upgrade again. {listed}"
        )
    op.create_check_constraint(op.f("ck_container_billing_cycles_period_in_order"), TABLE, IN_ORDER)
    op.create_check_constraint(
        op.f("ck_container_billing_cycles_effective_end_within_period"),
        TABLE,
        "effective_end IS NULL"
        " OR (effective_end >= billing_period_start AND effective_end <= billing_period_end)",
    )
    op.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT ex_container_billing_cycles_paid_once"
        f" EXCLUDE USING gist (subscription_id WITH =, {SERVICE} WITH &&)"
        f" WHERE ({PAID} AND {IN_ORDER})"
    )
    op.drop_constraint(op.f(UNIQUE), TABLE, type_="unique")
    op.create_index(
        RENEWAL_UNIQUE,
        TABLE,
        ["subscription_id", "billing_period_start"],
        unique=True,
        postgresql_where=sa.text("kind <> 'proration'"),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_index(RENEWAL_UNIQUE, table_name=TABLE)
    op.create_unique_constraint(op.f(UNIQUE), TABLE, ["subscription_id", "billing_period_start"])
    op.drop_constraint("ex_container_billing_cycles_paid_once", TABLE)
    op.drop_constraint(op.f("ck_container_billing_cycles_effective_end_within_period"), TABLE)
    op.drop_constraint(op.f("ck_container_billing_cycles_period_in_order"), TABLE)
    op.execute(
        f"UPDATE {TABLE} SET billing_period_end = effective_end WHERE effective_end IS NOT NULL"
    )
    op.drop_column(TABLE, "effective_end")
