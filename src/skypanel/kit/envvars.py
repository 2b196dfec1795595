"""Environment variables: validated keys, values encrypted at rest, secrets masked on display."""

from __future__ import annotations

import json
import re

from skypanel.kit.crypto import SecretPlace, decrypt_secret, encrypt_secret
from skypanel.kit.errors import InvalidInput

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SECRET_HINTS = ("PASSWORD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "AUTH")
MASK = "••••••••"
MAX_VALUE = 32_768
# Characters that end a line somewhere (Easypanel's KEY=VALUE text, shells, JavaScript) or make
# no sense in a value: every control character but the tab, and the Unicode line separators.
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def validate(env: dict[str, str], field: str = "env") -> dict[str, str]:
    for key, value in env.items():
        if not KEY.fullmatch(key):
            raise InvalidInput(
                f"{key!r} is not a valid variable name (letters, digits, underscore)",
                field=f"{field}.{key}",
            )
        if len(value) > MAX_VALUE:
            raise InvalidInput(
                f"The value of {key} is longer than {MAX_VALUE} characters", field=f"{field}.{key}"
            )
        if _BREAKS.search(value):
            raise InvalidInput(
                f"The value of {key} must be one line: no line breaks or control characters",
                field=f"{field}.{key}",
            )
    return env


def is_secret(key: str, declared: frozenset[str] = frozenset()) -> bool:
    upper = key.upper()
    return key in declared or any(hint in upper for hint in _SECRET_HINTS)


def masked(env: dict[str, str], declared: frozenset[str] = frozenset()) -> dict[str, str]:
    return {key: MASK if is_secret(key, declared) else value for key, value in env.items()}


def seal(env: dict[str, str], place: SecretPlace) -> str:
    return encrypt_secret(json.dumps(env, sort_keys=True), place)


def unseal(ciphertext: str | None, place: SecretPlace) -> dict[str, str]:
    if ciphertext is None:
        return {}
    loaded: dict[str, str] = json.loads(decrypt_secret(ciphertext, place))
    return loaded


def secret_values(env: dict[str, str], declared: frozenset[str] = frozenset()) -> list[str]:
    """The values to redact from logs (long enough to be meaningful)."""
    return [value for key, value in env.items() if is_secret(key, declared) and len(value) >= 4]
