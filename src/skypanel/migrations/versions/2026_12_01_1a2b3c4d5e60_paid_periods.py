"""A period is paid at most once: an exclusion constraint over each cycle's paid service.

`effective_end` records where a cycle's paid service ended when a plan change or a cancellation
cut it short (null: at the period's end); the period it was billed for stays as it was. No two
cycles of one subscription that are paid (or being paid) may overlap over
`[billing_period_start, coalesce(effective_end, billing_period_end))`. GiST compares the
subscription through two point boxes that hold all 128 bits of its id (`skypanel_uuid_high`,
`skypanel_uuid_low`: equal boxes overlap, others do not), so no extension is needed: the
btree_gist of earlier installs is not part of every PostgreSQL (the embedded one of `make run`
lacks it; revision b7c8d9e0f1a2 moves such installs to this form).

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
SUBSCRIPTION = (
    "skypanel_uuid_high(subscription_id) WITH &&, skypanel_uuid_low(subscription_id) WITH &&"
)
UUID_BOXES = (
    """CREATE OR REPLACE FUNCTION skypanel_uuid_high(u uuid) RETURNS box
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT box(point(x, y), point(x, y)) FROM (SELECT
    ('x' || substr(replace(u::text, '-', ''), 1, 13))::bit(52)::bigint::float8 AS x,
    ('x' || substr(replace(u::text, '-', ''), 14, 13))::bit(52)::bigint::float8 AS y) AS bits
$$""",
    """CREATE OR REPLACE FUNCTION skypanel_uuid_low(u uuid) RETURNS box
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT box(point(x, 0), point(x, 0)) FROM (SELECT
    ('x' || substr(replace(u::text, '-', ''), 27, 6))::bit(24)::bigint::float8 AS x) AS bits
$$""",
)
"""A uuid as two degenerate boxes (52 + 52 bits, then 24; each exact in a float8): two ids are
equal exactly when both boxes overlap, which GiST's built-in box operators index."""
PAID_ONCE = (
    f"ALTER TABLE {TABLE} ADD CONSTRAINT ex_container_billing_cycles_paid_once"
    f" EXCLUDE USING gist ({SUBSCRIPTION}, {SERVICE} WITH &&) WHERE ({PAID} AND {IN_ORDER})"
)

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
    for function in UUID_BOXES:
        op.execute(function)
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
    op.execute(PAID_ONCE)
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
    op.execute("DROP FUNCTION skypanel_uuid_high(uuid), skypanel_uuid_low(uuid)")
    op.drop_constraint(op.f("ck_container_billing_cycles_effective_end_within_period"), TABLE)
    op.drop_constraint(op.f("ck_container_billing_cycles_period_in_order"), TABLE)
    op.execute(
        f"UPDATE {TABLE} SET billing_period_end = effective_end WHERE effective_end IS NOT NULL"
    )
    op.drop_column(TABLE, "effective_end")
