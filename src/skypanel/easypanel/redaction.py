"""Redaction of request and response bodies before they are logged or audited.

Easypanel returns credentials in clear (env, passwords, deploy tokens, registry passwords —
contract §4.1), so anything stored about a call goes through `redact` first. Audited bodies are
also abridged: a server's listing of 20,000 services is not worth storing on every call.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import islice
from typing import Any

REDACTED = "[redacted]"
OMITTED = "[omitted]"
AUDITED_ITEMS = 100
"""Entries of a list or object kept in an audited body; the rest are counted under `OMITTED`."""

_SECRET_PARTS = ("password", "token", "secret", "credential", "apikey", "api_key", "authorization")
_SECRET_KEYS = frozenset({"content", "dockerfile", "privatekey", "private_key", "deploymenturl"})


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_PARTS)


def _is_env(key: str) -> bool:
    return key.lower() == "env"


def redact_env(env: str) -> str:
    """Keep the variable names of a ``KEY=VALUE`` text, hide the values."""
    lines = []
    for line in env.splitlines():
        key, sep, _ = line.partition("=")
        lines.append(f"{key}={REDACTED}" if sep and not key.lstrip().startswith("#") else line)
    return "\n".join(lines)


def redact(value: Any, *, items: int | None = None) -> Any:
    """A copy of a JSON-like value with secrets and env values replaced. With `items`, every list
    and object keeps its first `items` entries, followed by how many more there were."""
    if isinstance(value, dict):
        copy = {
            str(key): _redact_item(str(key), item, items)
            for key, item in islice(value.items(), items)
        }
        if items is not None and len(value) > items:
            copy[OMITTED] = len(value) - items
        return copy
    if isinstance(value, list | tuple):
        kept = [redact(item, items=items) for item in islice(value, items)]
        if items is not None and len(value) > items:
            kept.append({OMITTED: len(value) - items})
        return kept
    return value


def _redact_item(key: str, item: Any, items: int | None) -> Any:
    if item is None or isinstance(item, bool):
        return item
    if _is_env(key) and isinstance(item, str):
        return redact_env(item)
    if _is_secret(key) and not isinstance(item, dict | list):
        return REDACTED
    return redact(item, items=items)


class Abridged:
    """What `redact(answer, items=AUDITED_ITEMS)` gives for an answer that is an object of
    lists, kept while their elements go by (a streamed answer is never held whole)."""

    def __init__(self, lists: Collection[str]) -> None:
        self._kept: dict[str, list[Any]] = {name: [] for name in lists}
        self._omitted = dict.fromkeys(lists, 0)

    def add(self, name: str, item: Any) -> None:
        kept = self._kept[name]
        if len(kept) < AUDITED_ITEMS:
            kept.append(redact(item, items=AUDITED_ITEMS))
        else:
            self._omitted[name] += 1

    def value(self) -> dict[str, list[Any]]:
        return {
            name: [*kept, {OMITTED: self._omitted[name]}] if self._omitted[name] else kept
            for name, kept in self._kept.items()
        }
