"""Redaction of request and response bodies before they are logged or audited.

Easypanel returns credentials in clear (env, passwords, deploy tokens, registry passwords —
contract §4.1), so anything stored about a call goes through `redact` first.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"

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


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secrets and env values replaced."""
    if isinstance(value, dict):
        return {str(key): _redact_item(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _redact_item(key: str, item: Any) -> Any:
    if item is None or isinstance(item, bool):
        return item
    if _is_env(key) and isinstance(item, str):
        return redact_env(item)
    if _is_secret(key) and not isinstance(item, dict | list):
        return REDACTED
    return redact(item)
