"""The table of emulated procedures: name, input model, handler, API eras that have it.

"legacy" is Easypanel up to 2.30 (``monitor.*``), "current" 2.31 and later (``monitorOld.*``,
``metrics.*``, ``logs.*``). The dialect follows the era by default, but a 2.31+ server also
answers tRPC requests, so the two can be combined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from skypanel.easypanel.schemas import Input
from skypanel.emulator._world import Era, World

I = TypeVar("I", bound=Input)  # noqa: E741
Handler = Callable[[World, Any], Any]

ALL_ERAS: frozenset[Era] = frozenset({"legacy", "current"})
LEGACY: frozenset[Era] = frozenset({"legacy"})
CURRENT: frozenset[Era] = frozenset({"current"})


@dataclass(frozen=True, slots=True)
class Procedure:
    name: str
    model: type[Input] | None
    handler: Handler
    eras: frozenset[Era]
    void: bool


PROCEDURES: dict[str, Procedure] = {}


def procedure(
    name: str,
    model: type[I] | None = None,
    *,
    eras: frozenset[Era] = ALL_ERAS,
    void: bool = False,
) -> Callable[[Callable[[World, I], Any]], Callable[[World, I], Any]]:
    """Register a handler. `void` procedures answer without a payload."""

    def register(handler: Callable[[World, I], Any]) -> Callable[[World, I], Any]:
        PROCEDURES[name] = Procedure(name, model, handler, eras, void)
        return handler

    return register


def lookup(name: str, era: Era) -> Procedure | None:
    found = PROCEDURES.get(name)
    return found if found is not None and era in found.eras else None
