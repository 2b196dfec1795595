"""Names the outside world sees are unique across tenants: hosts, published ports, Swarm names.

`service_domains` holds each host a service serves (normalised; `*.example.com` for a wildcard),
unique on the whole platform; `service_ports` each host port a service publishes, unique per
server and protocol. Both go with their service (cascade). `container_services.swarm_name`
(`<easypanel project>_<easypanel service>`) is unique per server.

Written for a live database: short lock timeout; the new tables are empty and the new columns
nullable, so nothing is rewritten. Existing services get their Swarm name, domains and ports back
from their recorded configuration; where two already collide, only the oldest gets the claim
(the others keep running unclaimed until an admin sorts them out).

Revision ID: 3c4d5e6f7a82
Revises: 2b3c4d5e6f71
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c4d5e6f7a82"
down_revision: str | None = "2b3c4d5e6f71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "service_domains",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["container_services.id"],
            name=op.f("fk_service_domains_service_id_container_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_domains")),
        sa.UniqueConstraint("host", name=op.f("uq_service_domains_host")),
    )
    op.create_index(op.f("ix_service_domains_service_id"), "service_domains", ["service_id"])
    op.create_table(
        "service_ports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=3), nullable=False),
        sa.CheckConstraint("protocol IN ('tcp', 'udp')", name=op.f("ck_service_ports_protocol")),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_service_ports_port")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["container_services.id"],
            name=op.f("fk_service_ports_service_id_container_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["easypanel_config.id"],
            name=op.f("fk_service_ports_server_id_easypanel_config"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ports")),
        sa.UniqueConstraint(
            "server_id", "port", "protocol", name=op.f("uq_service_ports_server_id_port_protocol")
        ),
    )
    op.create_index(op.f("ix_service_ports_service_id"), "service_ports", ["service_id"])

    op.add_column("container_services", sa.Column("server_id", sa.Uuid(), nullable=True))
    op.add_column(
        "container_services", sa.Column("swarm_name", sa.String(length=255), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_container_services_server_id_easypanel_config"),
        "container_services",
        "easypanel_config",
        ["server_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.execute(
        """
        WITH named AS (
            SELECT s.id, p.server_id, p.easypanel_project_name || '_' || s.easypanel_service_name
                   AS swarm_name,
                   row_number() OVER (
                       PARTITION BY p.server_id,
                                    p.easypanel_project_name || '_' || s.easypanel_service_name
                       ORDER BY s.created_at, s.id
                   ) AS rank
            FROM container_services s JOIN container_projects p ON p.id = s.project_id
        )
        UPDATE container_services s
        SET server_id = named.server_id,
            swarm_name = CASE WHEN named.rank = 1 THEN named.swarm_name END
        FROM named WHERE named.id = s.id
        """
    )
    op.create_unique_constraint(
        op.f("uq_container_services_server_id_swarm_name"),
        "container_services",
        ["server_id", "swarm_name"],
    )
    op.execute(
        """
        INSERT INTO service_domains (id, service_id, host)
        SELECT DISTINCT ON (host) gen_random_uuid(), id, host
        FROM (
            SELECT s.id, s.created_at,
                   rtrim(lower(d ->> 'host'), '.') AS host
            FROM container_services s,
                 jsonb_array_elements(coalesce(s.configuration -> 'domains', '[]')) AS d
            WHERE d ->> 'host' IS NOT NULL
        ) AS hosts
        ORDER BY host, created_at
        """
    )
    op.execute(
        """
        INSERT INTO service_ports (id, service_id, server_id, port, protocol)
        SELECT DISTINCT ON (server_id, port, protocol)
               gen_random_uuid(), id, server_id, port, protocol
        FROM (
            SELECT s.id, s.created_at, p.server_id,
                   (x ->> 'published')::int AS port,
                   coalesce(x ->> 'protocol', 'tcp') AS protocol
            FROM container_services s
            JOIN container_projects p ON p.id = s.project_id,
                 jsonb_array_elements(coalesce(s.configuration -> 'ports', '[]')) AS x
            WHERE x ->> 'published' IS NOT NULL
        ) AS ports
        WHERE port BETWEEN 1 AND 65535 AND protocol IN ('tcp', 'udp')
        ORDER BY server_id, port, protocol, created_at
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint(
        op.f("uq_container_services_server_id_swarm_name"), "container_services", type_="unique"
    )
    op.drop_constraint(
        op.f("fk_container_services_server_id_easypanel_config"),
        "container_services",
        type_="foreignkey",
    )
    op.drop_column("container_services", "swarm_name")
    op.drop_column("container_services", "server_id")
    op.drop_index(op.f("ix_service_ports_service_id"), table_name="service_ports")
    op.drop_table("service_ports")
    op.drop_index(op.f("ix_service_domains_service_id"), table_name="service_domains")
    op.drop_table("service_domains")
