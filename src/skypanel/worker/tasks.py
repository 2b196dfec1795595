"""The job queue and its periodic tasks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence

import procrastinate
import structlog

from skypanel.backups import tasks as backups
from skypanel.billing import dunning
from skypanel.billing import service as billing
from skypanel.deployments import sync as deployments
from skypanel.domains.tasks import recheck_pending
from skypanel.http import idempotency
from skypanel.monitoring import service as monitoring
from skypanel.payments import recharge, refunds
from skypanel.payments import service as payments
from skypanel.reconcile.service import reconcile
from skypanel.servers.health import check_servers
from skypanel.services import health
from skypanel.services.status import Timing
from skypanel.worker.context import current

log = structlog.get_logger(__name__)

app = procrastinate.App(connector=procrastinate.PsycopgConnector())


@app.task(queue="easypanel", pass_context=False)
async def deliver(operation_ids: list[str]) -> int:
    """Deliver the operations a request just recorded, then what they unblock."""
    statuses = await current().runner.run_all([uuid.UUID(value) for value in operation_ids])
    return sum(1 for status in statuses if status is not None)


async def defer_delivery(operation_ids: Sequence[uuid.UUID]) -> None:
    """Hand operations to the workers (the job queue must be open in this process)."""
    await deliver.defer_async(operation_ids=[str(value) for value in operation_ids])


@app.task(queue="mail", queueing_lock="send-mail", pass_context=False)
async def send_mail() -> int:
    """Send the outbox's due emails (deferred after a commit that queued some)."""
    return await current().mailer.deliver_due()


async def defer_mail() -> None:
    """Have a worker send the outbox soon (one such job waits at a time)."""
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await send_mail.defer_async()


@app.periodic(cron="*/1 * * * *", periodic_id="mail-outbox")
@app.task(queue="mail", queueing_lock="mail-outbox", pass_context=False)
async def mail_outbox(timestamp: int) -> int:
    """Every minute: send what is due (retries, and what a lost hand-over left)."""
    return await current().mailer.deliver_due()


@app.task(queue="webhooks", queueing_lock="send-webhooks", pass_context=False)
async def send_webhooks() -> int:
    """Send the due webhook deliveries (deferred after a commit that queued some)."""
    return await current().webhooks()


async def defer_webhooks() -> None:
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await send_webhooks.defer_async()


@app.periodic(cron="*/1 * * * *", periodic_id="deliver-webhooks")
@app.task(queue="webhooks", queueing_lock="deliver-webhooks", pass_context=False)
async def deliver_webhooks(timestamp: int) -> int:
    """Every minute: send what is due (the retries with their backoff)."""
    return await current().webhooks()


@app.periodic(cron="* * * * * */15", periodic_id="deliver-operations")
@app.task(queue="easypanel", queueing_lock="deliver-operations", pass_context=False)
async def deliver_operations(timestamp: int) -> int:
    """Every 15 seconds: retry every due operation, and take up those whose delivery stopped
    (a process that died holds its operations for one lease at most, then this takes them)."""
    return await current().runner.run_due()


@app.periodic(cron="7 * * * *", periodic_id="billing-run")
@app.task(queue="billing", queueing_lock="billing-run", pass_context=False)
async def billing_run(timestamp: int) -> dict[str, int]:
    """Hourly: renew what is due, settle what is overdue, suspend what is past its grace."""
    report = await billing.run(current().sessions)
    log.info(
        "billing.run",
        charged=report.charged,
        failed=report.failed,
        recovered=report.recovered,
        suspended=report.suspended,
        resumed=report.resumed,
    )
    return {"charged": report.charged, "failed": report.failed, "suspended": report.suspended}


@app.periodic(cron="37 * * * *", periodic_id="dunning")
@app.task(queue="billing", queueing_lock="dunning", pass_context=False)
async def dunning_run(timestamp: int) -> int:
    """Hourly: remind, warn and terminate (a subscription suspended too long is deleted)."""
    report = await dunning.run(current().sessions)
    return report.terminated


@app.periodic(cron="17 * * * *", periodic_id="purge-idempotency-keys")
@app.task(queue="maintenance", queueing_lock="purge-idempotency-keys", pass_context=False)
async def purge_idempotency_keys(timestamp: int) -> int:
    """Hourly: forget `Idempotency-Key`s older than 24 hours."""
    return await idempotency.purge_expired(current().sessions)


@app.periodic(cron="*/1 * * * *", periodic_id="fold-counts")
@app.task(queue="maintenance", queueing_lock="fold-counts", pass_context=False)
async def fold_counts(timestamp: int) -> int:
    """Every minute: fold the admin overview's count changes into its totals."""
    return await monitoring.fold_counts(current().sessions)


@app.periodic(cron="*/1 * * * *", periodic_id="auto-recharge")
@app.task(queue="billing", queueing_lock="auto-recharge", pass_context=False)
async def auto_recharge(timestamp: int) -> dict[str, int]:
    """Every minute: top up the wallets that fell below their auto-recharge threshold."""
    context = current()
    report = await recharge.run(context.sessions, context.gateways)
    return {"charged": len(report.charged), "failed": len(report.failed)}


@app.periodic(cron="*/10 * * * *", periodic_id="sweep-top-ups")
@app.task(queue="billing", queueing_lock="sweep-top-ups", pass_context=False)
async def sweep_top_ups(timestamp: int) -> int:
    """Every ten minutes: ask the providers about checkouts whose notification never came."""
    context = current()
    return len(await payments.sweep_pending(context.sessions, context.gateways))


@app.periodic(cron="*/5 * * * *", periodic_id="retry-refunds")
@app.task(queue="billing", queueing_lock="retry-refunds", pass_context=False)
async def retry_refunds(timestamp: int) -> int:
    """Every five minutes: ask the providers again for refunds a request left pending."""
    context = current()
    return len(await refunds.retry_pending(context.sessions, context.gateways))


@app.periodic(cron="*/1 * * * *", periodic_id="health-watch")
@app.task(queue="easypanel", queueing_lock="health-watch", pass_context=False)
async def watch_health(timestamp: int) -> dict[str, int]:
    """Every minute: judge every running service's tasks; tell about those that keep crashing."""
    context = current()
    timing = Timing.of(context.settings)
    report = await health.watch(context.sessions, context.clients, context.cache, timing)
    return {"crash_looping": len(report.crash_looping), "recovered": len(report.recovered)}


@app.periodic(cron="*/5 * * * *", periodic_id="reconcile")
@app.task(queue="easypanel", queueing_lock="reconcile", pass_context=False)
async def reconcile_drift(timestamp: int) -> dict[str, int]:
    """Every five minutes: settle drift between Easypanel and the database."""
    context = current()
    report = await reconcile(context.sessions, context.clients)
    return {"imported": len(report.imported), "missing": len(report.missing)}


@app.periodic(cron="*/5 * * * *", periodic_id="recheck-domains")
@app.task(queue="easypanel", queueing_lock="recheck-domains", pass_context=False)
async def recheck_domains(timestamp: int) -> int:
    """Every five minutes: look up the TXT records of domains still pending verification."""
    context = current()
    return await recheck_pending(context.sessions, context.settings.dns_nameservers)


@app.periodic(cron="*/15 * * * *", periodic_id="backup-sweep")
@app.task(queue="easypanel", queueing_lock="backup-sweep", pass_context=False)
async def backup_sweep(timestamp: int) -> dict[str, int]:
    """Every 15 minutes: record scheduled backups, settle them against the bucket, delete what
    retention and ended subscriptions no longer keep."""
    context = current()
    report = await backups.sweep(context.sessions, context.clients)
    return {"recorded": report.recorded, "expired": report.expired}


@app.periodic(cron="*/1 * * * *", periodic_id="sync-deployments")
@app.task(queue="easypanel", queueing_lock="sync-deployments", pass_context=False)
async def sync_deployments(timestamp: int) -> dict[str, int]:
    """Every minute: end the deployments whose Easypanel action ended, import pushes' deploys."""
    context = current()
    report = await deployments.sync(context.sessions, context.clients)
    return {"finished": len(report.finished), "imported": len(report.imported)}


@app.periodic(cron="*/1 * * * *", periodic_id="server-health")
@app.task(queue="easypanel", queueing_lock="server-health", pass_context=False)
async def server_health(timestamp: int) -> dict[str, int]:
    """Every minute: test each Easypanel server; three failures mark it down, a success back."""
    report = await check_servers(current().sessions)
    return {"checked": report.checked, "down": len(report.down), "up": len(report.recovered)}
