"""Persisted Easypanel operations: recorded with the change that needs them, delivered after commit.

Every change to make on Easypanel is a row (kind, target, payload) in `easypanel_operations`,
written in the same transaction as the database change that calls for it. Workers (or the request
itself, for the first attempt) deliver it without holding database locks, then record the outcome
in a new transaction: succeeded, pending again with a backoff, or failed for good.
"""
