"""Admin lists at scale: keyset and prefix-search indexes, and counts kept by triggers.

Every admin list pages newest first over `(created_at, id)`; each filter gets an index that
starts with the filtered column and ends with that order, so the first and the 1,000th page
read the same few index entries. A search pages in the order of the key it matches (the start
of `lower(name)`, an email, a slug), from an index on (key COLLATE "C", id): core PostgreSQL,
no pg_trgm, and every page one index range whichever rows match.

The admin overview reads `platform_counts` instead of counting the tables. Statement-level
triggers (with transition tables, so a batch of 500 renewals writes one row, not 500) append
each statement's net change to `platform_count_changes`, an insert-only table: concurrent
writers never wait on a shared counter row. `fold_counts` (every minute, in the worker) moves
the changes into `platform_counts` in one statement; a read sums both in one snapshot, so it is
exact whether or not the fold has run.

Revision ID: e0f1a2b3c4d5
Revises: d9e0f1a2b3c4
Create Date: 2026-12-01 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e0f1a2b3c4d5"
down_revision: str | None = "d9e0f1a2b3c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST = ("created_at", "id")
INDEXES = {
    "ix_container_services_newest": ("container_services", ()),
    "ix_container_services_status_newest": ("container_services", ("status",)),
    "ix_container_services_type_newest": ("container_services", ("service_type",)),
    "ix_container_services_organization_newest": ("container_services", ("organization_id",)),
    "ix_container_services_server_newest": ("container_services", ("server_id",)),
    "ix_container_subscriptions_newest": ("container_subscriptions", ()),
    "ix_container_subscriptions_status_newest": ("container_subscriptions", ("status",)),
    "ix_container_subscriptions_organization_newest": (
        "container_subscriptions",
        ("organization_id",),
    ),
    "ix_container_subscriptions_server_newest": ("container_subscriptions", ("server_id",)),
    "ix_organizations_newest": ("organizations", ()),
    "ix_users_newest": ("users", ()),
}
MATCHES = {
    "ix_container_services_name_match": ("container_services", "lower(service_name)", ""),
    "ix_container_services_status_name_match": (
        "container_services",
        "status, lower(service_name)",
        "",
    ),
    "ix_organizations_name_match": ("organizations", "lower(name)", ""),
    "ix_organizations_slug_match": ("organizations", "slug", "name"),
    "ix_users_email_match": ("users", "email", ""),
    "ix_users_name_match": ("users", "lower(name)", "email"),
}
"""Search keys (after the columns they are filtered by first), compared byte by byte (so a
prefix is one range), ending in the id; the second key of a list includes the first key's
column, so that skipping the rows the first key already matched reads the index only."""
EPOCH = "'1970-01-01 00:00:00+00'::timestamptz"
# metric: (table, label, status, hour) as SQL over a row of the table.
COUNTED = {
    "subscriptions": ("container_subscriptions", "plan_id::text", "status", EPOCH),
    "services": ("container_services", "service_type", "status", EPOCH),
    "projects": ("container_projects", "''", "''", EPOCH),
    "billing_cycles": (
        "container_billing_cycles",
        "''",
        "status",
        "date_trunc('hour', created_at, 'UTC')",
    ),
}


def _keys(label: str, status: str, hour: str) -> str:
    return f"{label} AS label, {status} AS status, {hour} AS hour"


def _function(metric: str, label: str, status: str, hour: str) -> str:
    keys = _keys(label, status, hour)
    insert = (
        "INSERT INTO platform_count_changes (metric, label, status, hour, n)"
        f" SELECT '{metric}', label, status, hour, sum(n) FROM ({{rows}}) AS c"
        " GROUP BY label, status, hour HAVING sum(n) <> 0"
    )
    return f"""CREATE FUNCTION skypanel_count_{metric}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {insert.format(rows=f"SELECT {keys}, 1 AS n FROM new_rows")};
  ELSIF TG_OP = 'DELETE' THEN
    {insert.format(rows=f"SELECT {keys}, -1 AS n FROM old_rows")};
  ELSE
    {insert.format(rows=f"SELECT {keys}, -1 AS n FROM old_rows UNION ALL SELECT {keys}, 1 FROM new_rows")};
  END IF;
  RETURN NULL;
END $$"""


FORGET = """CREATE FUNCTION skypanel_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM platform_counts WHERE metric = TG_ARGV[0];
  DELETE FROM platform_count_changes WHERE metric = TG_ARGV[0];
  RETURN NULL;
END $$"""
"""A truncated table counts nothing (TRUNCATE fires no delete triggers)."""


def _triggers(metric: str, table: str) -> list[str]:
    transitions = {
        "insert": "NEW TABLE AS new_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
    }
    return [
        f"CREATE TRIGGER count_{metric}_{event} AFTER {event.upper()} ON {table}"
        f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION skypanel_count_{metric}()"
        for event, tables in transitions.items()
    ] + [
        f"CREATE TRIGGER count_{metric}_truncate AFTER TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION skypanel_count_truncated('{metric}')"
    ]


def _count_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, [*columns, *NEWEST])
    for name, (table, keys, covered) in MATCHES.items():
        including = f" INCLUDE ({covered})" if covered else ""
        *leading, key = keys.split(", ")
        listed = ", ".join([*leading, f'({key} COLLATE "C")', "id"])
        op.execute(f"CREATE INDEX {name} ON {table} ({listed}){including}")
    op.create_table(
        "platform_counts",
        *_count_columns(),
        sa.PrimaryKeyConstraint(
            "metric", "label", "status", "hour", name=op.f("pk_platform_counts")
        ),
    )
    op.create_table(
        "platform_count_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *_count_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_count_changes")),
    )
    op.execute(FORGET)
    for metric, (table, label, status, hour) in COUNTED.items():
        op.execute(_function(metric, label, status, hour))
        for trigger in _triggers(metric, table):
            op.execute(trigger)
        op.execute(
            "INSERT INTO platform_counts (metric, label, status, hour, n)"
            f" SELECT '{metric}', label, status, hour, count(*)"
            f" FROM (SELECT {_keys(label, status, hour)} FROM {table}) AS c"
            " GROUP BY label, status, hour"
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for metric, (table, *_) in COUNTED.items():
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER count_{metric}_{event} ON {table}")
        op.execute(f"DROP FUNCTION skypanel_count_{metric}()")
    op.execute("DROP FUNCTION skypanel_count_truncated()")
    op.drop_table("platform_count_changes")
    op.drop_table("platform_counts")
    for name in MATCHES:
        op.execute(f"DROP INDEX {name}")
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
