"""Automation, passwords and database tools."""

from __future__ import annotations

from skypanel.templates.catalog._entry import TIMEZONE, CatalogEntry, app, database, limits

N8N = CatalogEntry(
    template_name="n8n",
    display_name="n8n",
    description="Workflow automation with hundreds of integrations, backed by PostgreSQL.",
    category="Automation",
    display_order=80,
    template_schema={
        "inputs": [
            TIMEZONE,
            {
                "name": "encryptionKey",
                "label": "Encryption key",
                "secret": True,
                "generate": {"kind": "hex", "length": 32},
                "description": "Encrypts stored credentials; keep it to restore a backup.",
            },
        ],
        "services": [
            database("db", "postgres", "16", database="n8n", user="n8n"),
            app(
                "n8n",
                "n8nio/n8n:1.74.3",
                port=5678,
                volumes={"data": "/home/node/.n8n"},
                resources=limits("1", "1", "5"),
                env={
                    "N8N_HOST": "$(PRIMARY_DOMAIN)",
                    "N8N_PROTOCOL": "https",
                    "WEBHOOK_URL": "https://$(PRIMARY_DOMAIN)/",
                    "N8N_ENCRYPTION_KEY": "${encryptionKey}",
                    "GENERIC_TIMEZONE": "${timezone}",
                    "DB_TYPE": "postgresdb",
                    "DB_POSTGRESDB_HOST": "${services.db.host}",
                    "DB_POSTGRESDB_PORT": "${services.db.port}",
                    "DB_POSTGRESDB_DATABASE": "${services.db.database}",
                    "DB_POSTGRESDB_USER": "${services.db.user}",
                    "DB_POSTGRESDB_PASSWORD": "${services.db.password}",
                },
            ),
        ],
    },
)

VAULTWARDEN = CatalogEntry(
    template_name="vaultwarden",
    display_name="Vaultwarden",
    description="A lightweight Bitwarden-compatible password manager server.",
    category="Security",
    display_order=90,
    template_schema={
        "inputs": [
            {
                "name": "signupsAllowed",
                "label": "Allow sign-ups",
                "type": "boolean",
                "default": True,
            },
            {
                "name": "adminToken",
                "label": "Admin page token",
                "type": "password",
                "generate": {"kind": "password", "length": 40},
                "description": "Opens /admin; left empty, one is generated and shown once.",
            },
        ],
        "services": [
            app(
                "vaultwarden",
                "vaultwarden/server:1.32.7",
                port=80,
                volumes={"data": "/data"},
                resources=limits("0.5", "0.5", "2"),
                env={
                    "DOMAIN": "https://$(PRIMARY_DOMAIN)",
                    "SIGNUPS_ALLOWED": "${signupsAllowed}",
                    "ADMIN_TOKEN": "${adminToken}",
                },
            )
        ],
    },
)

ADMINER = CatalogEntry(
    template_name="adminer",
    display_name="Adminer",
    description="Database management in a single page: MySQL, PostgreSQL, SQLite and more.",
    category="Databases",
    display_order=100,
    template_schema={
        "inputs": [
            {
                "name": "design",
                "label": "Theme",
                "type": "select",
                "options": ["pepa-linha", "dracula", "nette", "hever", "galkaev"],
                "default": "pepa-linha",
            }
        ],
        "services": [
            app(
                "adminer",
                "adminer:4.8.1",
                port=8080,
                env={"ADMINER_DESIGN": "${design}"},
                resources=limits("0.25", "0.25", "0.5"),
            )
        ],
    },
)

REDIS_COMMANDER = CatalogEntry(
    template_name="redis-commander",
    display_name="Redis Commander",
    description="A Redis server with a web interface to browse and edit its keys.",
    category="Databases",
    display_order=110,
    template_schema={
        "inputs": [
            {"name": "httpUser", "label": "Username", "default": "admin", "required": True},
            {
                "name": "httpPassword",
                "label": "Password",
                "type": "password",
                "generate": {"kind": "password", "length": 20},
            },
        ],
        "services": [
            database("redis", "redis", "7"),
            app(
                "commander",
                "rediscommander/redis-commander:latest",
                port=8081,
                resources=limits("0.25", "0.25", "0.5"),
                env={
                    "REDIS_HOSTS": (
                        "local:${services.redis.host}:${services.redis.port}:0"
                        ":${services.redis.password}"
                    ),
                    "HTTP_USER": "${httpUser}",
                    "HTTP_PASSWORD": "${httpPassword}",
                },
            ),
        ],
    },
)

TOOLS = (N8N, VAULTWARDEN, ADMINER, REDIS_COMMANDER)
