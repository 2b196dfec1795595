"""The `skypanel` command."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from skypanel.config import Settings, get_settings
from skypanel.kit.embedded_pg import start_embedded_postgres
from skypanel.kit.logging import configure_logging
from skypanel.kit.migrate import upgrade_to_head

app = typer.Typer(
    help="SkyPanel: containers as a service on top of Easypanel.", no_args_is_help=True
)


def _settings_with_database() -> Settings:
    """The settings, with an embedded PostgreSQL started when no database URL is configured.

    The URL is also exported, so web workers started by uvicorn (new processes) use it too.
    """
    settings = get_settings()
    if settings.database_url is None:
        url = start_embedded_postgres(settings.data_dir)
        os.environ["SKYPANEL_DATABASE_URL"] = url
        get_settings.cache_clear()
        settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


SERVER_OPTIONS: dict[str, Any] = {
    "loop": "asyncio",
    "http": "httptools",
    "proxy_headers": True,
    "access_log": False,
}
"""How uvicorn serves the panel (`bench.load` serves its ceilings the same way). The standard
asyncio loop, not uvloop: under load uvloop takes new requests ahead of finishing those already
read, so a few wait many turns. At 64 connections on one process `/healthz` had a p99 of about
1 s under uvloop and about 100 ms under asyncio, for 10-15 % less throughput (bench/RESULTS.md,
session 10)."""


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "skypanel.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        **SERVER_OPTIONS,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Web worker processes")] = 1,
) -> None:
    """Serve the panel; without SKYPANEL_DATABASE_URL, an embedded PostgreSQL (migrated)."""
    embedded = get_settings().database_url is None
    settings = _settings_with_database()
    if embedded:
        upgrade_to_head(_database_url(settings))
    _serve(settings, host, port, workers)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest migration and install the built-in templates."""
    settings = _settings_with_database()
    upgrade_to_head(_database_url(settings))
    typer.echo("Database is at the latest migration.")
    _sync_templates(settings)


templates_app = typer.Typer(help="One-click app templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("sync")
def templates_sync() -> None:
    """Install or update the built-in template catalogue (admin-made templates are untouched)."""
    _sync_templates(_settings_with_database())


def _sync_templates(settings: Settings) -> None:
    from skypanel.templates.cli import sync_templates

    report = asyncio.run(sync_templates(_database_url(settings)))
    typer.echo(
        f"Templates: {len(report.created)} added, {len(report.updated)} updated,"
        f" {len(report.unchanged)} unchanged."
    )


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's email")],
    password: Annotated[
        str | None, typer.Option(help="Password (generated and printed when omitted)")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
) -> None:
    """Create a platform administrator (or promote an existing account)."""
    from skypanel.demo import ensure_admin

    settings = _settings_with_database()
    chosen = password or secrets.token_urlsafe(12)
    created = asyncio.run(ensure_admin(_database_url(settings), email, chosen, name))
    typer.echo(f"{'Created' if created else 'Updated'} administrator {email}")
    if password is None:
        typer.echo(f"Password: {chosen}")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Migrate, create demo data (passwords printed once), and serve the panel with a worker.

    Without a configured Easypanel server, an Easypanel emulator is started and used.
    """
    from skypanel.demo import seed_demo
    from skypanel.emulator import ADMIN_EMAIL, running_emulator
    from skypanel.standins.s3 import running_s3

    settings = _settings_with_database()
    url = _database_url(settings)
    upgrade_to_head(url)
    _sync_templates(settings)
    os.environ["SKYPANEL_WORKER_IN_PROCESS"] = "true"
    panel_url = f"http://{host}:{port}"
    os.environ.setdefault("SKYPANEL_PUBLIC_URL", panel_url)
    os.environ.setdefault("SKYPANEL_WEBHOOKS_ALLOW_PRIVATE", "true")
    with contextlib.ExitStack() as stack:
        emulator = None
        emulator_password = secrets.token_urlsafe(12)
        if not settings.easypanel_url:
            emulator = stack.enter_context(
                running_emulator(
                    token=secrets.token_urlsafe(24),
                    state_file=settings.data_dir / "emulator-state.json",
                    admin_password=emulator_password,
                )
            )
        standins = _payment_standins(stack, settings, panel_url)
        backup_store = stack.enter_context(running_s3())
        standins.append(f"S3 stand-in at {backup_store.endpoint} (backups; lost on exit)")
        if settings.smtp_url is None:
            standins.append(_mail_catcher(stack))
        get_settings.cache_clear()
        accounts = asyncio.run(seed_demo(url, emulator, backup_store))
        typer.echo("")
        typer.echo(f"SkyPanel demo: http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
        for account in accounts:
            typer.echo(f"  {account.role:<9} {account.email:<28} password: {account.password}")
        if emulator is not None:
            typer.echo(f"  Easypanel emulator at {emulator.base_url} (token: {emulator.token})")
            typer.echo(f"    its administrator: {ADMIN_EMAIL} password: {emulator_password}")
        for line in standins:
            typer.echo(f"  {line}")
        typer.echo("These passwords are new on every start of the demo. Stop with Ctrl+C.\n")
        _serve(get_settings(), host, port, 1)


def _mail_catcher(stack: contextlib.ExitStack) -> str:
    """An SMTP server in this process that accepts every message (the admin console's outbox
    shows what was sent), so account and billing emails work on a bare machine."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catcher = Controller(Sink(), hostname="127.0.0.1", port=port)
    catcher.start()
    stack.callback(catcher.stop)
    os.environ["SKYPANEL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    return f"Mail catcher at smtp://127.0.0.1:{port} (sent mail: Admin → Outbox)"


def _payment_standins(stack: contextlib.ExitStack, settings: Settings, panel_url: str) -> list[str]:
    """The Stripe and PayPal stand-ins for the providers not configured, their webhooks pointed
    at the panel, so a customer can top up with a test card; returns what to print."""
    from skypanel.standins.paypal import running_paypal
    from skypanel.standins.stripe import running_stripe

    said = []
    if settings.stripe_secret_key is None:
        stripe = stack.enter_context(
            running_stripe(webhook_url=f"{panel_url}/api/payments/stripe/webhook")
        )
        os.environ["SKYPANEL_STRIPE_API_BASE"] = stripe.base_url
        os.environ["SKYPANEL_STRIPE_SECRET_KEY"] = stripe.secret_key
        os.environ["SKYPANEL_STRIPE_WEBHOOK_SECRET"] = stripe.webhook_secret
        said.append(f"Stripe stand-in at {stripe.base_url} (test card 4242 4242 4242 4242)")
    if settings.paypal_client_id is None:
        paypal = stack.enter_context(
            running_paypal(webhook_url=f"{panel_url}/api/payments/paypal/webhook")
        )
        os.environ["SKYPANEL_PAYPAL_API_BASE"] = paypal.base_url
        os.environ["SKYPANEL_PAYPAL_CLIENT_ID"] = paypal.client_id
        os.environ["SKYPANEL_PAYPAL_CLIENT_SECRET"] = paypal.client_secret
        os.environ["SKYPANEL_PAYPAL_WEBHOOK_ID"] = paypal.webhook_id or ""
        said.append(f"PayPal stand-in at {paypal.base_url}")
    return said


class WireDialect(enum.StrEnum):
    orpc = "orpc"
    trpc = "trpc"


@app.command("easypanel-emulator")
def easypanel_emulator(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    dialect: Annotated[
        WireDialect, typer.Option(help="orpc (Easypanel 2.31+) or trpc (up to 2.30)")
    ] = WireDialect.orpc,
    token: Annotated[
        str | None, typer.Option(help="API token to accept (generated and printed if omitted)")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Keep the emulator's state in this JSON file")
    ] = None,
    admin_password: Annotated[
        str | None,
        typer.Option(help="The password auth.login takes (generated and printed if omitted)"),
    ] = None,
) -> None:
    """Serve an Easypanel emulator: a stand-in Easypanel for tests and demos."""
    from skypanel.emulator import ADMIN_EMAIL, serve_emulator

    chosen = token or secrets.token_urlsafe(24)
    password = admin_password or secrets.token_urlsafe(12)
    typer.echo(f"Easypanel emulator ({dialect.value}) on http://{host}:{port}; token: {chosen}")
    typer.echo(f"  administrator login: {ADMIN_EMAIL} / {password}")
    serve_emulator(
        host=host,
        port=port,
        dialect=dialect.value,
        token=chosen,
        state_file=state,
        admin_password=password,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once")] = 4,
) -> None:
    """Run a background worker (billing, Easypanel operations). Run as many as you like."""
    from skypanel.worker.run import run_worker

    settings = _settings_with_database()
    typer.echo("Worker started; stop with Ctrl+C.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings, concurrency=concurrency))


billing_app = typer.Typer(help="Billing.", no_args_is_help=True)
app.add_typer(billing_app, name="billing")


@billing_app.command("run")
def billing_run(
    now: Annotated[
        datetime | None,
        typer.Option(help="Bill as if it were this moment (ISO time, UTC if no offset)"),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Subscriptions per transaction")] = 1000,
) -> None:
    """Renew every due subscription, settle overdue ones, suspend those past their grace."""
    from skypanel.worker.billing_run import run_billing

    settings = _settings_with_database()
    at = None if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC))
    report = asyncio.run(run_billing(settings, at=at, batch=batch))
    typer.echo(
        f"Charged {report.charged}, failed {report.failed}, recovered {report.recovered},"
        f" suspended {report.suspended}, resumed {report.resumed}."
    )


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored secret under the first key of SKYPANEL_ENCRYPTION_KEYS."""
    from skypanel.kit.crypto import SecretDecryptionError
    from skypanel.secrets.rotation import rotate_all

    settings = _settings_with_database()
    try:
        counts = asyncio.run(rotate_all(_database_url(settings)))
    except SecretDecryptionError as exc:
        typer.echo(f"Stopped, nothing changed in that column: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for column, count in counts.items():
        typer.echo(f"{column}: {count} re-encrypted")
    typer.echo(f"Done: {sum(counts.values())} secrets now use key {_primary_kid()}.")


def _primary_kid() -> str:
    from skypanel.kit.crypto import key_ring

    return key_ring().primary_kid


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise typer.BadParameter("SKYPANEL_DATABASE_URL is not set")
    return settings.database_url


def main() -> None:
    app()
