"""A user's answers to a template's inputs: checked, defaulted, generated, turned into text."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from skypanel.kit.errors import InvalidInput
from skypanel.templates.schemas import Generate, InputField

MAX_VALUE = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ALPHANUMERIC = string.ascii_letters + string.digits


class TemplateInputInvalid(InvalidInput):
    code = "TEMPLATE_INPUT_INVALID"


def generate(rule: Generate) -> str:
    """A random value: letters and digits (safe in URLs and env files), or hexadecimal."""
    if rule.kind == "hex":
        return secrets.token_hex((rule.length + 1) // 2)[: rule.length]
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(rule.length))


def resolve_inputs(fields: list[InputField], given: Mapping[str, Any]) -> dict[str, str]:
    """Each input's value as text (empty when optional and unset); errors name every field."""
    known = {field.name for field in fields}
    errors = [
        {"field": f"inputs.{name}", "message": "Unknown input"}
        for name in given
        if name not in known
    ]
    values: dict[str, str] = {}
    for field in fields:
        value = given.get(field.name)
        if _empty(value):
            value = field.default
        if _empty(value) and field.generate is not None:
            value = generate(field.generate)
        if _empty(value):
            values[field.name] = ""
            if field.required:
                errors.append({"field": f"inputs.{field.name}", "message": "Required"})
            continue
        try:
            values[field.name] = _text(field, value)
        except ValueError as exc:
            errors.append({"field": f"inputs.{field.name}", "message": str(exc)})
    if errors:
        names = ", ".join(error["field"] for error in errors)
        raise TemplateInputInvalid(f"Invalid inputs: {names}", fields=errors)
    return values


def field_errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    """Pydantic errors as `{"field", "message"}`, camelCase paths under `prefix`."""
    return [
        {
            "field": ".".join([prefix, *(str(part) for part in error["loc"])]),
            "message": error["msg"].removeprefix("Value error, "),
        }
        for error in exc.errors(include_url=False)
    ]


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _text(field: InputField, value: Any) -> str:
    if field.type == "boolean":
        text = _boolean(value)
    elif field.type == "number":
        text = _number(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("Must be a string")
    if len(text) > MAX_VALUE or _CONTROL.search(text):
        raise ValueError(f"Must be one line of at most {MAX_VALUE} characters")
    if field.options is not None and text not in field.options:
        raise ValueError(f"Must be one of: {', '.join(field.options)}")
    if field.pattern is not None and not re.fullmatch(field.pattern, text):
        raise ValueError(f"Must match {field.pattern}")
    return text


def _boolean(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    raise ValueError("Must be true or false")


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("Must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("Must be a number") from exc
    if not number.is_finite():
        raise ValueError("Must be a number")
    return format(number.normalize(), "f")
