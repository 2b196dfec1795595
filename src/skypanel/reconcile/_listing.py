"""Servers' big answers taken in turn: a listing (compared as it arrives, `_drift.Comparison`)
and a server's task counts (decoded whole, then all but the few wanted dropped) are a run's
biggest reads, so normally one such answer is read at a time. A server that has not answered
within `PATIENCE` gives up its turn, so a slow one holds up no other for long."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 10.0
"""Seconds a server's call may take before the next server's starts alongside it."""


class Turns:
    def __init__(self) -> None:
        self._turn = asyncio.Lock()

    async def take(self, call: Callable[[], Awaitable[T]]) -> T:
        """The call's answer, made once it is this server's turn (or the previous one's
        patience has run out)."""
        async with self._turn:
            answer = asyncio.ensure_future(call())
            try:
                await asyncio.wait({answer}, timeout=PATIENCE)
            except asyncio.CancelledError:
                answer.cancel()
                raise
        return await answer
