"""Web analytics, business intelligence and uptime monitoring."""

from __future__ import annotations

from skypanel.templates.catalog._entry import TIMEZONE, CatalogEntry, app, database, limits

PLAUSIBLE = CatalogEntry(
    template_name="plausible",
    display_name="Plausible Analytics",
    description="Privacy-friendly web analytics, with PostgreSQL and ClickHouse.",
    category="Analytics",
    display_order=50,
    template_schema={
        "inputs": [
            {
                "name": "registration",
                "label": "Registration",
                "type": "select",
                "options": ["invite_only", "true", "false"],
                "default": "invite_only",
                "description": "invite_only lets the first user register, then only invitees.",
            },
            {
                "name": "secretKeyBase",
                "label": "Secret key base",
                "secret": True,
                "generate": {"kind": "hex", "length": 64},
                "pattern": r"^[A-Za-z0-9+/=_-]{64,}$",
            },
        ],
        "services": [
            database("db", "postgres", "16", database="plausible", user="plausible"),
            app(
                "events",
                "clickhouse/clickhouse-server:24.3.3.102-alpine",
                env={"CLICKHOUSE_SKIP_USER_SETUP": "1"},
                volumes={"events": "/var/lib/clickhouse"},
                resources=limits("1", "2", "10"),
            ),
            app(
                "plausible",
                "ghcr.io/plausible/community-edition:v2.1.5",
                command=(
                    'sh -c "/entrypoint.sh db createdb && /entrypoint.sh db migrate'
                    ' && /entrypoint.sh run"'
                ),
                port=8000,
                resources=limits("1", "1", "2"),
                env={
                    "BASE_URL": "https://$(PRIMARY_DOMAIN)",
                    "SECRET_KEY_BASE": "${secretKeyBase}",
                    "DISABLE_REGISTRATION": "${registration}",
                    "DATABASE_URL": (
                        "postgres://${services.db.user}:${services.db.password}"
                        "@${services.db.host}:${services.db.port}/${services.db.database}"
                    ),
                    "CLICKHOUSE_DATABASE_URL": (
                        "http://${services.events.host}:8123/plausible_events_db"
                    ),
                },
            ),
        ],
    },
)

METABASE = CatalogEntry(
    template_name="metabase",
    display_name="Metabase",
    description="Dashboards and questions over your data, for the whole team.",
    category="Analytics",
    display_order=60,
    template_schema={
        "inputs": [TIMEZONE],
        "services": [
            database("db", "postgres", "16", database="metabase", user="metabase"),
            app(
                "metabase",
                "metabase/metabase:v0.52.5",
                port=3000,
                resources=limits("1", "2", "2"),
                env={
                    "MB_DB_TYPE": "postgres",
                    "MB_DB_HOST": "${services.db.host}",
                    "MB_DB_PORT": "${services.db.port}",
                    "MB_DB_DBNAME": "${services.db.database}",
                    "MB_DB_USER": "${services.db.user}",
                    "MB_DB_PASS": "${services.db.password}",
                    "MB_SITE_URL": "https://$(PRIMARY_DOMAIN)",
                    "JAVA_TIMEZONE": "${timezone}",
                },
            ),
        ],
    },
)

UPTIME_KUMA = CatalogEntry(
    template_name="uptime-kuma",
    display_name="Uptime Kuma",
    description="A fancy self-hosted monitoring tool with status pages and alerts.",
    category="Monitoring",
    display_order=70,
    template_schema={
        "inputs": [TIMEZONE],
        "services": [
            app(
                "kuma",
                "louislam/uptime-kuma:1.23.16",
                port=3001,
                env={"TZ": "${timezone}"},
                volumes={"data": "/app/data"},
                resources=limits("0.5", "0.5", "2"),
            )
        ],
    },
)

ANALYTICS = (PLAUSIBLE, METABASE, UPTIME_KUMA)
