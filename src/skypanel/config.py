"""The one Settings class: every `SKYPANEL_*` variable lives here."""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRETS_FILE = "dev-secrets.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYPANEL_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")

    database_url: str | None = None
    database_pool_size: int = 20
    database_max_overflow: int = 0
    """Connections opened beyond the pool at peaks. SQLAlchemy closes each one as soon as it is
    given back while the pool is full, so under steady load they are opened again and again
    (each a new PostgreSQL backend, 218 in 5,000 cold reads: bench/RESULTS.md). A fixed pool
    waits a moment for a connection instead (HikariCP's advice)."""
    database_pgbouncer: bool = False
    """`SKYPANEL_DATABASE_URL` goes through PgBouncer in transaction mode: no prepared statements
    are kept across transactions, and workers poll the job queue instead of listening."""
    redis_url: str | None = None
    max_body_bytes: int = 1_048_576

    secret_key: SecretStr | None = None
    encryption_keys: SecretStr | None = None

    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)

    rate_limit_enabled: bool = True
    rate_limit_anonymous: str = "120/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_admin: str = "6000/minute"

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    public_url: str = "http://127.0.0.1:8000"

    metrics_token: SecretStr | None = None
    """Bearer token for `/metrics`. In production `/metrics` answers 404 without one."""
    api_docs: bool = True
    """Serve `/docs`, `/redoc` and `/openapi.json`."""

    easypanel_url: str | None = None
    easypanel_api_key: SecretStr | None = None
    easypanel_dialect: Literal["auto", "orpc", "trpc"] = "auto"
    easypanel_login_domain: str = "customers.skypanel.invalid"

    stripe_secret_key: SecretStr | None = None
    """Stripe's secret API key (`sk_live_...`, `sk_test_...`): with it, customers top up by card."""
    stripe_webhook_secret: SecretStr | None = None
    """The signing secret of the Stripe webhook endpoint `/api/payments/stripe/webhook`."""
    stripe_api_base: str = "https://api.stripe.com"
    """Where Stripe's API is: the stand-in's address in tests and the demo."""

    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    """With both, customers top up through PayPal (Orders v2, captured by the panel)."""
    paypal_webhook_id: str | None = None
    """The id PayPal gave the webhook `/api/payments/paypal/webhook`: signatures are checked
    against it."""
    paypal_api_base: str = "https://api-m.paypal.com"

    require_verified_email: bool = True
    """Refuse paying and deploying until the account's email address is confirmed."""
    smtp_url: SecretStr | None = None
    """`smtp://user:pass@host:port` (STARTTLS when the server offers it) or `smtps://…`; unset,
    emails wait in the outbox."""
    mail_from: str = "SkyPanel <no-reply@skypanel.invalid>"
    webhooks_allow_private: bool = False
    """Let webhook endpoints use http:// and private, loopback or link-local addresses (tests,
    the demo); off, deliveries go only to public addresses, checked when they are sent."""

    dns_nameservers: str = ""
    """Where custom domains' TXT records are looked up: comma-separated `ip[:port]`; empty,
    the system's resolver."""
    worker_in_process: bool = False
    service_settle_seconds: float = Field(default=10.0, ge=0.0, le=600.0)
    """How long a service's tasks must stay up after a start before it counts as running."""
    service_start_window_seconds: float = Field(default=180.0, ge=0.0, le=3600.0)
    """How long after a start tasks that are not up yet count as starting (image pulls, boots)."""
    service_down_grace_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    """How long tasks may stay down (Swarm restarting them) before the service is crash-looping."""
    operation_lease_seconds: float = Field(default=30.0, ge=5.0, le=3600.0)
    """How long a delivery holds an operation without renewing its lease (it renews every
    quarter of it); a worker that stops lets its operations go after this long."""

    @property
    def operation_lease(self) -> timedelta:
        return timedelta(seconds=self.operation_lease_seconds)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        if self.production:
            _refuse_weak_secrets(self)
        return self

    def jwt_key(self) -> str:
        if self.secret_key is None:
            raise RuntimeError("SKYPANEL_SECRET_KEY is not set")
        return self.secret_key.get_secret_value()

    def key_ring(self) -> str:
        if self.encryption_keys is None:
            raise RuntimeError("SKYPANEL_ENCRYPTION_KEYS is not set")
        return self.encryption_keys.get_secret_value()


def _refuse_weak_secrets(settings: Settings) -> None:
    generated = _read_dev_secrets(settings.data_dir)
    for name in ("secret_key", "encryption_keys"):
        value: SecretStr | None = getattr(settings, name)
        if value is None:
            raise ValueError(f"SKYPANEL_{name.upper()} must be set in production")
        if value.get_secret_value() == generated.get(name):
            raise ValueError(f"SKYPANEL_{name.upper()} is a generated development secret")
    if len(settings.jwt_key()) < 32:
        raise ValueError("SKYPANEL_SECRET_KEY must be at least 32 characters in production")


def _read_dev_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / DEV_SECRETS_FILE
    if not path.exists():
        return {}
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def new_encryption_key() -> str:
    """A key-ring entry `kid:base64(32 random bytes)`."""
    return f"k{secrets.token_hex(4)}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def ensure_dev_secrets(settings: Settings) -> Settings:
    """Outside production, fill missing secrets from (or into) a file under the data directory.

    The file is created once with fresh random values, so every process of one installation
    agrees on the keys; production refuses these values (see `_refuse_weak_secrets`).
    """
    if settings.production or (settings.secret_key and settings.encryption_keys):
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stored = _read_dev_secrets(settings.data_dir)
    if not stored:
        fresh = {"secret_key": secrets.token_urlsafe(48), "encryption_keys": new_encryption_key()}
        try:
            fd = os.open(
                settings.data_dir / DEV_SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
            )
        except FileExistsError:
            stored = _read_dev_secrets(settings.data_dir)
        else:
            with os.fdopen(fd, "w") as handle:
                json.dump(fresh, handle)
            stored = fresh
    return settings.model_copy(
        update={
            "secret_key": settings.secret_key or SecretStr(stored["secret_key"]),
            "encryption_keys": settings.encryption_keys or SecretStr(stored["encryption_keys"]),
        }
    )


@lru_cache
def get_settings() -> Settings:
    return ensure_dev_secrets(Settings())
