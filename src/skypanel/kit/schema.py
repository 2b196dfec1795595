"""The base for every API schema: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

MULTILINE = frozenset("\t\n\r")
"""The control characters text may hold (tabs and line breaks); every other one is refused."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly


def control_character(text: str, allowed: frozenset[str] = MULTILINE) -> str | None:
    """The first control character (Unicode category Cc) of `text` not in `allowed`, if any."""
    for match in _CONTROL.finditer(text):
        if match.group() not in allowed:
            return match.group()
    return None


def _refuse_controls(value: Any) -> None:
    if isinstance(value, str):
        found = control_character(value)
        if found is not None:
            raise ValueError(f"must not contain control characters (found U+{ord(found):04X})")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_controls(key)
            _refuse_controls(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _refuse_controls(item)


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        serialize_by_alias=True,
    )


class InputModel(ApiModel):
    """A request body: unknown fields are refused rather than silently dropped, and no text in
    it (nested models, lists and maps included) may hold a control character other than tabs
    and line breaks: NUL and the like make no sense in any field and PostgreSQL refuses them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _refuse_controls(value)
        return value
