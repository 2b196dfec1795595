"""The paid-once rule without btree_gist: installs that ran revision 1a2b3c4d5e60 before it
compared subscriptions through btree_gist get the same rule over the core point boxes.

btree_gist is not in every PostgreSQL (the embedded one of `make run` lacks it), so revision
1a2b3c4d5e60 now builds `ex_container_billing_cycles_paid_once` over `skypanel_uuid_high` and
`skypanel_uuid_low` instead; this revision rebuilds the constraint the same way where it was made
the old way (and rebuilds it unchanged elsewhere). btree_gist itself is left installed.

Revision ID: b7c8d9e0f1a2
Revises: f5a6b7c8d9e0
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b7c8d9e0f1a2"
down_revision: str | None = "f5a6b7c8d9e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "container_billing_cycles"
PAID = "status IN ('pending', 'billed', 'refunded')"
# The constraint exactly as revision 1a2b3c4d5e60 now makes it.
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


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for function in UUID_BOXES:
        op.execute(function)
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT ex_container_billing_cycles_paid_once")
    op.execute(PAID_ONCE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
