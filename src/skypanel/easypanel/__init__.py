"""The Easypanel client: typed async calls over oRPC (2.31+) or tRPC (up to 2.30).

See ``../shared/easypanel/CONTRACT.md`` for the facts it encodes.
"""

from __future__ import annotations

from skypanel.easypanel._procedures import DATABASE_TYPES, DatabaseType, Dialect, swarm_name
from skypanel.easypanel._transport import CallHook, DialectSetting
from skypanel.easypanel.client import EasypanelClient
from skypanel.easypanel.errors import (
    EasypanelApiError,
    EasypanelAuthError,
    EasypanelError,
    EasypanelNotFound,
    EasypanelProcedureNotFound,
    EasypanelRateLimited,
    EasypanelResourceExists,
    EasypanelUnavailable,
    EasypanelValidationError,
)
from skypanel.easypanel.options import CallRecord, ConnectionResult, RetryPolicy, Timeouts
from skypanel.easypanel.redaction import redact, redact_env

__all__ = [
    "DATABASE_TYPES",
    "CallHook",
    "CallRecord",
    "ConnectionResult",
    "DatabaseType",
    "Dialect",
    "DialectSetting",
    "EasypanelApiError",
    "EasypanelAuthError",
    "EasypanelClient",
    "EasypanelError",
    "EasypanelNotFound",
    "EasypanelProcedureNotFound",
    "EasypanelRateLimited",
    "EasypanelResourceExists",
    "EasypanelUnavailable",
    "EasypanelValidationError",
    "RetryPolicy",
    "Timeouts",
    "redact",
    "redact_env",
    "swarm_name",
]
