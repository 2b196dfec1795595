"""Renewals, dunning, suspension and resumption.

Every rule is enforced by the database as well as the code: a renewal is unique per subscription
and period start (never created or charged twice), no two paid cycles of a subscription overlap
(a period is paid once), ledger entries are unique per cycle, and rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several workers, a crash or a rerun are harmless.
Lock order everywhere: the subscription first, then the rows it covers (its projects, then its
services, each in id order, then the wallet).

A run (`_run`) renews what is due (`_renewals`), then sweeps what waits for money (`_standing`):
past-due subscriptions (settled if the wallet can pay, suspended once the grace has run out) and
suspended ones whose wallet can pay a fresh month (resumed), so a credit whose follow-up
(`after_credit`) was lost is acted on at the next run. The grace period counts from when the
failure is recorded, however late the run. Each step (renewed, renewal failed, suspended,
resumed) tells the organization's managers in its own transaction (`billing.messages`); what is
said ahead of time is `billing.dunning`.
"""

from skypanel.billing.service._renewals import renew_batch
from skypanel.billing.service._report import RunReport
from skypanel.billing.service._run import BATCH, after_credit, run
from skypanel.billing.service._standing import resume, settle, suspend

__all__ = [
    "BATCH",
    "RunReport",
    "after_credit",
    "renew_batch",
    "resume",
    "run",
    "settle",
    "suspend",
]
