"""Websites, blogs, code hosting and file sharing."""

from __future__ import annotations

from skypanel.templates.catalog._entry import CatalogEntry, app, database, limits

WORDPRESS = CatalogEntry(
    template_name="wordpress",
    display_name="WordPress",
    description="The most popular CMS, with a MariaDB database.",
    category="CMS",
    display_order=10,
    template_schema={
        "inputs": [
            {
                "name": "tablePrefix",
                "label": "Table prefix",
                "default": "wp_",
                "pattern": r"^[A-Za-z0-9_]{1,20}$",
            }
        ],
        "services": [
            database("db", "mariadb", "11.4", database="wordpress", user="wordpress"),
            app(
                "wordpress",
                "wordpress:6.7.1-php8.3-apache",
                port=80,
                volumes={"html": "/var/www/html"},
                resources=limits("1", "1", "10"),
                env={
                    "WORDPRESS_DB_HOST": "${services.db.host}:${services.db.port}",
                    "WORDPRESS_DB_NAME": "${services.db.database}",
                    "WORDPRESS_DB_USER": "${services.db.user}",
                    "WORDPRESS_DB_PASSWORD": "${services.db.password}",
                    "WORDPRESS_TABLE_PREFIX": "${tablePrefix}",
                },
            ),
        ],
    },
)

GHOST = CatalogEntry(
    template_name="ghost",
    display_name="Ghost",
    description="A publishing platform for blogs and newsletters, with MySQL.",
    category="CMS",
    display_order=20,
    template_schema={
        "inputs": [
            {
                "name": "mailFrom",
                "label": "Sender address",
                "pattern": r"^[^\s@]+@[^\s@]+\.[^\s@]+$",
                "description": "The From address of the emails Ghost sends (optional).",
            }
        ],
        "services": [
            database("db", "mysql", "8.0", database="ghost", user="ghost"),
            app(
                "ghost",
                "ghost:5.105.0-alpine",
                port=2368,
                volumes={"content": "/var/lib/ghost/content"},
                resources=limits("1", "1", "10"),
                env={
                    "url": "https://$(PRIMARY_DOMAIN)",
                    "database__client": "mysql",
                    "database__connection__host": "${services.db.host}",
                    "database__connection__user": "${services.db.user}",
                    "database__connection__password": "${services.db.password}",
                    "database__connection__database": "${services.db.database}",
                    "mail__from": "${mailFrom}",
                },
            ),
        ],
    },
)

GITEA = CatalogEntry(
    template_name="gitea",
    display_name="Gitea",
    description="Lightweight self-hosted Git service with issues and pull requests.",
    category="Development",
    display_order=30,
    template_schema={
        "inputs": [
            {
                "name": "disableRegistration",
                "label": "Disable sign-ups",
                "type": "boolean",
                "default": False,
                "description": "Only the first user (the admin) and invited users can sign in.",
            }
        ],
        "services": [
            database("db", "postgres", "16", database="gitea", user="gitea"),
            app(
                "gitea",
                "gitea/gitea:1.23.1",
                port=3000,
                volumes={"data": "/data"},
                resources=limits("1", "1", "10"),
                env={
                    "USER_UID": "1000",
                    "USER_GID": "1000",
                    "GITEA__database__DB_TYPE": "postgres",
                    "GITEA__database__HOST": "${services.db.host}:${services.db.port}",
                    "GITEA__database__NAME": "${services.db.database}",
                    "GITEA__database__USER": "${services.db.user}",
                    "GITEA__database__PASSWD": "${services.db.password}",
                    "GITEA__server__DOMAIN": "$(PRIMARY_DOMAIN)",
                    "GITEA__server__ROOT_URL": "https://$(PRIMARY_DOMAIN)/",
                    "GITEA__server__DISABLE_SSH": "true",
                    "GITEA__service__DISABLE_REGISTRATION": "${disableRegistration}",
                },
            ),
        ],
    },
)

NEXTCLOUD = CatalogEntry(
    template_name="nextcloud",
    display_name="Nextcloud",
    description="Files, calendars and contacts in your own cloud, with PostgreSQL and Redis.",
    category="Productivity",
    display_order=40,
    template_schema={
        "inputs": [
            {
                "name": "adminUser",
                "label": "Admin username",
                "default": "admin",
                "required": True,
                "pattern": r"^[A-Za-z0-9._@-]{3,64}$",
            },
            {
                "name": "adminPassword",
                "label": "Admin password",
                "type": "password",
                "generate": {"kind": "password", "length": 24},
                "description": "Left empty, a random password is generated and shown once.",
            },
        ],
        "services": [
            database("db", "postgres", "16", database="nextcloud", user="nextcloud"),
            database("cache", "redis", "7"),
            app(
                "nextcloud",
                "nextcloud:30.0.4-apache",
                port=80,
                volumes={"html": "/var/www/html"},
                resources=limits("1", "2", "20"),
                env={
                    "POSTGRES_HOST": "${services.db.host}",
                    "POSTGRES_DB": "${services.db.database}",
                    "POSTGRES_USER": "${services.db.user}",
                    "POSTGRES_PASSWORD": "${services.db.password}",
                    "REDIS_HOST": "${services.cache.host}",
                    "REDIS_HOST_PASSWORD": "${services.cache.password}",
                    "NEXTCLOUD_ADMIN_USER": "${adminUser}",
                    "NEXTCLOUD_ADMIN_PASSWORD": "${adminPassword}",
                    "NEXTCLOUD_TRUSTED_DOMAINS": "$(PRIMARY_DOMAIN)",
                    "OVERWRITEPROTOCOL": "https",
                },
            ),
        ],
    },
)

SITES = (WORDPRESS, GHOST, GITEA, NEXTCLOUD)
