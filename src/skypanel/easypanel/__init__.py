"""The Easypanel client: typed async calls over oRPC (2.31+) or tRPC (up to 2.30).

See ``../shared/easypanel/CONTRACT.md`` for the facts it encodes.
"""

from __future__ import annotations

from skypanel.easypanel._backups import (
    BackupAction,
    BackupKind,
    DatabaseBackupInput,
    RestoreDatabaseBackupInput,
    S3ProviderInput,
    UpdateS3ProviderInput,
    VolumeBackupInput,
)
from skypanel.easypanel._deploys import DEPLOYMENT, action_time
from skypanel.easypanel._network import LETS_ENCRYPT, DomainRecord, ServiceDestination
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
    "DEPLOYMENT",
    "LETS_ENCRYPT",
    "BackupAction",
    "BackupKind",
    "CallHook",
    "CallRecord",
    "ConnectionResult",
    "DatabaseBackupInput",
    "DatabaseType",
    "Dialect",
    "DialectSetting",
    "DomainRecord",
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
    "RestoreDatabaseBackupInput",
    "RetryPolicy",
    "S3ProviderInput",
    "ServiceDestination",
    "Timeouts",
    "UpdateS3ProviderInput",
    "VolumeBackupInput",
    "action_time",
    "redact",
    "redact_env",
    "swarm_name",
]
