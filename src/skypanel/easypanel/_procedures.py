"""Facts about procedure names shared by the client and the emulator (contract §1.1, §2)."""

from __future__ import annotations

import re
from typing import Literal, get_args

Dialect = Literal["orpc", "trpc"]
DatabaseType = Literal["postgres", "mysql", "mariadb", "mongo", "redis"]
DATABASE_TYPES: tuple[DatabaseType, ...] = get_args(DatabaseType)

ORPC_PREFIX = "/api/rpc/"
TRPC_PREFIX = "/api/trpc/"

# In the tRPC era queries are GET and mutations POST. The 2.16.0 and 2.23.0 specs agree with this
# naming rule for every procedure except the four listed below.
_QUERY_NAME = re.compile(r"^(get|list|inspect|query)[A-Z]")
_QUERY_EXCEPTIONS = frozenset(
    {
        "services.wordpress.searchTheme",
        "services.wordpress.searchPlugin",
        "cluster.addWorkerCommand",
        "storageProviders.common.list",
    }
)

# Calls that block until a build finishes (contract §1.4): they get the long read timeout.
LONG_RUNNING = frozenset(
    {"services.app.deployService", "services.app.createService", "templates.createFromSchema"}
)


def is_query(procedure: str) -> bool:
    return procedure in _QUERY_EXCEPTIONS or bool(_QUERY_NAME.match(procedure.rsplit(".", 1)[-1]))


def orpc_path(procedure: str) -> str:
    return ORPC_PREFIX + procedure.replace(".", "/")


def trpc_path(procedure: str) -> str:
    return TRPC_PREFIX + procedure


def swarm_name(project: str, service: str) -> str:
    """The Docker Swarm service name Easypanel uses for a service (contract §1.4)."""
    return f"{project}_{service}"
