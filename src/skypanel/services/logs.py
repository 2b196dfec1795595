"""Logs of a service: Easypanel's service-logs query where the server has it, otherwise the
newest deploy's log; secret values redacted; never invented."""

from __future__ import annotations

from datetime import UTC, datetime

from skypanel.easypanel import EasypanelClient, EasypanelNotFound, EasypanelProcedureNotFound
from skypanel.kit.errors import InvalidInput
from skypanel.services.schemas import LogLineOut, LogsOut

REDACTED = "[redacted]"


def _position(cursor: str) -> int:
    """A cursor is a `nextCursor` handed out earlier: a non-negative integer."""
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 20):
        raise InvalidInput(
            "The cursor must be the nextCursor of a previous page",
            fields=[{"field": "cursor", "message": "must be a non-negative integer"}],
        )
    return int(cursor)


def redact(text: str, secrets: list[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


async def read(
    client: EasypanelClient,
    project: str,
    service: str,
    *,
    secrets: list[str],
    cursor: str | None,
    limit: int,
    is_app: bool,
) -> LogsOut:
    try:
        lines = await client.query_service_logs(
            project, service, start=_position(cursor) if cursor else None, limit=limit
        )
    except EasypanelProcedureNotFound:
        return await _deploy_log(client, project, service, secrets, cursor, limit, is_app)
    except EasypanelNotFound:
        return LogsOut(
            source="none",
            lines=[],
            next_cursor=None,
            note="The service is not on Easypanel yet; its logs appear here once it is created",
        )
    return LogsOut(
        source="service-logs",
        lines=[
            LogLineOut(
                timestamp=datetime.fromtimestamp(line.timestamp_ns / 1e9, UTC).isoformat(),
                stream=None,
                message=redact(line.line, secrets),
            )
            for line in lines
        ],
        next_cursor=str(lines[-1].timestamp_ns + 1) if lines else cursor,
    )


async def _deploy_log(
    client: EasypanelClient,
    project: str,
    service: str,
    secrets: list[str],
    cursor: str | None,
    limit: int,
    is_app: bool,
) -> LogsOut:
    newest = await client.list_actions(project, service, limit=1) if is_app else []
    if not newest:
        return LogsOut(
            source="none",
            lines=[],
            next_cursor=None,
            note="This Easypanel server offers no log source for this service yet",
        )
    log = (await client.get_action(newest[0].id)).log or ""
    start = _position(cursor) if cursor else 0
    lines = log.splitlines()[start : start + limit]
    return LogsOut(
        source="deploy-action",
        lines=[LogLineOut(timestamp=None, stream=None, message=redact(x, secrets)) for x in lines],
        next_cursor=str(start + len(lines)),
    )
