"""The shared core of the client mixins: one transport, one way to send a model."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pydantic import BaseModel

from skypanel.easypanel._procedures import Dialect
from skypanel.easypanel._transport import Transport, V
from skypanel.easypanel.errors import EasypanelApiError, EasypanelProcedureNotFound
from skypanel.easypanel.schemas import Input

M = TypeVar("M", bound=BaseModel)


class ClientBase:
    _transport: Transport
    _names: dict[tuple[str, ...], str]

    @property
    def dialect(self) -> Dialect | None:
        """The wire dialect in use: pinned, or detected by the first call (None before)."""
        return self._transport.dialect

    async def call(self, procedure: str, payload: Any = None) -> Any:
        """Call any procedure with a raw JSON input; returns the raw payload."""
        return await self._transport.call(procedure, payload)

    async def call_lists(self, procedure: str, lists: Collection[str], start: Callable[[], V]) -> V:
        """Call a procedure (no input) whose payload is an object of big lists: their elements
        go to a visitor from `start` as they arrive, and the visitor is returned (see
        `Transport.call_lists`)."""
        return await self._transport.call_lists(procedure, lists, start)

    async def _send(self, procedure: str, body: Input | None = None) -> Any:
        return await self._transport.call(procedure, None if body is None else body.wire())

    async def _first_available(self, procedures: tuple[str, ...], body: Input | None) -> Any:
        """Call the first of several names of one procedure that this server knows.

        The name that answered is remembered, so later calls go straight to it.
        """
        known = self._names.get(procedures)
        ordered = (known, *procedures) if known else procedures
        for procedure in dict.fromkeys(ordered):
            try:
                result = await self._send(procedure, body)
            except EasypanelProcedureNotFound:
                continue
            self._names[procedures] = procedure
            return result
        raise EasypanelProcedureNotFound(
            f"Easypanel has none of {', '.join(procedures)}", procedure=procedures[0]
        )


def parse(model: type[M], payload: Any, procedure: str) -> M:
    """Validate a response payload, turning a malformed answer into an API error."""
    try:
        return model.model_validate(payload)
    except ValueError as exc:
        raise EasypanelApiError(
            f"Easypanel {procedure}: unexpected answer ({type(exc).__name__})",
            procedure=procedure,
        ) from exc


def parse_list(model: type[M], payload: Any, procedure: str) -> list[M]:
    if not isinstance(payload, list):
        raise EasypanelApiError(f"Easypanel {procedure}: expected a list", procedure=procedure)
    return [parse(model, item, procedure) for item in payload]
