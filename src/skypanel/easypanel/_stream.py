"""A JSON answer read as it arrives, its big lists handed over one element at a time.

A server's listing is about 800 bytes a service on the wire and several KB once decoded whole
(with its body and its text beside it: 80 MB for 20,000 services). Read this way, only the
element being decoded and one network chunk are held. ijson's parser (yajl2, in C) turns each
chunk into events as it arrives; the payload is found by walking them, and each element of a
list is built from its own events by ijson's `ObjectBuilder`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

import ijson  # type: ignore[import-untyped]

Visit = Callable[[str, Any], None]
"""Called with the name of a list and one of its elements, in the order they arrive."""

Events = AsyncIterator[tuple[str, Any]]
_DEPTH = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


class Malformed(ValueError):
    """The answer is not JSON, or not shaped as expected."""


async def read_lists(
    chunks: AsyncIterator[bytes], path: tuple[str, ...], lists: Collection[str], visit: Visit
) -> None:
    """Walk the object found at `path` (the keys leading to the payload inside the envelope):
    each member named in `lists` must be an array, whose elements go to `visit`; any other
    member is decoded and dropped, and so is everything around the payload. The chunks are the
    body's bytes as they arrive: JSON is UTF-8, whatever charset a proxy may declare."""
    events = ijson.basic_parse_async(_Reader(chunks), use_float=True)
    try:
        await _object(events, path, lists, visit)
        await anext(events, None)  # the end, or ijson's error for text after the answer
    except ijson.JSONError as exc:
        # The first line alone: the rest quotes the answer, which may hold secrets.
        raise Malformed(str(exc).partition("\n")[0]) from exc


async def _object(
    events: Events, path: tuple[str, ...], lists: Collection[str], visit: Visit
) -> None:
    event, _ = await anext(events)
    if event != "start_map":
        raise Malformed("not an object where the payload should be")
    found = False
    async for event, key in events:
        if event == "end_map":
            break
        if path and key == path[0] and not found:
            found = True
            await _object(events, path[1:], lists, visit)
        elif not path and key in lists:
            await _array(events, key, visit)
        else:
            await _value(events, *await anext(events))
    if path and not found:
        raise Malformed("no payload in the answer")


async def _array(events: Events, name: str, visit: Visit) -> None:
    event, _ = await anext(events)
    if event != "start_array":
        raise Malformed(f"{name} is not a list")
    async for event, value in events:
        if event == "end_array":
            break
        visit(name, await _value(events, event, value))


async def _value(events: Events, event: str, value: Any) -> Any:
    """The value that starts with this event, built from the events up to its end."""
    builder = ijson.ObjectBuilder()
    depth = 0
    while True:
        builder.event(event, value)
        depth += _DEPTH.get(event, 0)
        if not depth:
            return builder.value
        event, value = await anext(events)


class _Reader:
    """The chunks as the file ijson reads from: each `read` gives the next one (ijson takes a
    shorter read than it asked for as it comes), b"" at the end. ijson first reads nothing, to
    learn whether it gets bytes or text."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def read(self, size: int) -> bytes:
        if not size:
            return b""
        async for chunk in self._chunks:
            if chunk:
                return chunk
        return b""
