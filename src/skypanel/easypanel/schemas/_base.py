"""Base models: inputs mirror the server's zod schemas, outputs tolerate whatever comes back."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)
from pydantic.alias_generators import to_camel

NAME_PATTERN = r"^[a-z0-9_-]+$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""Project, service and volume names: lowercase letters, digits, dash, underscore (§3.1)."""

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
AbsolutePath = Annotated[str, StringConstraints(pattern=r"^/")]
Email = Annotated[str, StringConstraints(pattern=r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$")]

_PASSWORD_ALPHABET = string.ascii_lowercase + string.digits


def random_password() -> str:
    """The server's default for omitted passwords and tool tokens: 20 chars of ``[a-z0-9]``."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(20))


class Input(BaseModel):
    """A request body. Python names in snake_case, camelCase on the wire.

    Unknown keys are stripped (as zod does on the server). Server-side defaults are not repeated
    here: optional fields default to None, and None is never sent except for the fields listed in
    `nullable` (zod rejects null elsewhere).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_nulls(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if v is not None or k in self.nullable}

    def wire(self) -> dict[str, Any]:
        """The JSON input of the procedure."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        return data


class Output(BaseModel):
    """A response object: unknown fields are kept, missing optional ones default."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )


def parse_env(text: str | None) -> dict[str, str]:
    """``KEY=VALUE`` lines (``\\n`` or ``\\r\\n``) to a dict; blank and ``#`` lines are skipped."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            result[key.strip()] = value
    return result


def format_env(variables: Mapping[str, str]) -> str:
    """The env text Easypanel expects: one ``KEY=VALUE`` per line."""
    return "".join(f"{key}={value}\n" for key, value in variables.items())
