"""`read_lists` on answers cut into chunks anywhere: the elements of the named lists, whole and
as `json.loads` would give them, in arrival order; anything else dropped; a bad answer refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import pytest

from skypanel.easypanel._stream import Malformed, read_lists

ORPC = ("json",)
TRPC = ("result", "data", "json")
ELEMENTS = [
    {"name": "web", "replicas": 12345, "cpu": -1.5e3, "ratio": 0.25, "ok": True, "gone": None},
    {"text": 'a "quoted" \\ back\nslash\t\u00e9\u20ac\U0001f600', "escaped": "\u00e9\U0001f600"},
    [[], {}, [1, [2.0, "3"]], False],
    -7,
    98765.4321,
    "",
]
DOCUMENT = (
    '{"json": {"count": 6, "services": [{"name":"web","replicas":12345,"cpu":-1.5E3,'
    '"ratio":0.25,"ok":true,"gone":null}, {"text":"a \\"quoted\\" \\\\ back\\nslash\\t'
    '\u00e9\\u20ac\U0001f600","escaped":"\\u00e9\\ud83d\\ude00"},[[],{},[1,[2.0,"3"]],false]'
    ' ,-7,98765.4321,""], "after": {"services": [0]}}}\n'
)


async def _chunks(*pieces: str | bytes) -> AsyncIterator[bytes]:
    """The body as the network gives it: bytes, a character's UTF-8 sequence possibly split."""
    for piece in pieces:
        yield piece.encode() if isinstance(piece, str) else piece


async def _read(
    pieces: Sequence[str | bytes],
    lists: Collection[str] = ("services",),
    path: tuple[str, ...] = ORPC,
) -> list[tuple[str, Any]]:
    visited: list[tuple[str, Any]] = []
    await read_lists(_chunks(*pieces), path, lists, lambda name, item: visited.append((name, item)))
    return visited


async def test_the_document_is_what_the_elements_say() -> None:
    assert repr(json.loads(DOCUMENT)["json"]["services"]) == repr(ELEMENTS)


async def test_an_answer_cut_anywhere_gives_the_same_elements() -> None:
    """Cut at every byte, inside a character's UTF-8 sequence too."""
    expected = repr([("services", element) for element in ELEMENTS])
    body = DOCUMENT.encode()
    for cut in range(len(body) + 1):
        visited = await _read([body[:cut], body[cut:]])
        assert repr(visited) == expected, f"cut at {cut}"
    assert repr(await _read([body[n : n + 1] for n in range(len(body))])) == expected


async def test_each_element_is_visited_as_it_arrives() -> None:
    received: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        for piece in ['{"json": {"services": [{"a": 1},', ' {"a": 2}', "]}}"]:
            received.append(piece)
            yield piece.encode()

    seen: list[tuple[int, Any]] = []
    await read_lists(
        chunks(), ORPC, ["services"], lambda _, item: seen.append((len(received), item))
    )
    assert seen[0] == (1, {"a": 1})
    assert seen[1][1] == {"a": 2}


async def test_several_lists_are_visited_in_arrival_order_and_other_members_dropped() -> None:
    answer = json.dumps(
        {
            "json": {
                "projects": [{"name": "p1"}, {"name": "p2"}],
                "users": [{"email": "a@b.c"}],
                "services": [{"name": "s1"}],
                "meta": {"services": ["not", "this"], "projects": [0]},
                "empty": [],
            }
        }
    )
    visited = await _read([answer], lists=["services", "projects", "empty", "absent"])
    assert visited == [
        ("projects", {"name": "p1"}),
        ("projects", {"name": "p2"}),
        ("services", {"name": "s1"}),
    ]


async def test_the_path_is_walked_and_what_surrounds_the_payload_dropped() -> None:
    answer = json.dumps(
        {
            "services": [1],
            "result": {
                "services": [2],
                "json": {"services": [3]},
                "data": {"services": [4], "json": {"services": [5]}, "after": [6]},
            },
            "data": {"json": {"services": [7]}},
        }
    )
    assert await _read([answer], path=TRPC) == [("services", 5)]
    assert await _read([answer], path=()) == [("services", 1)]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("<html>Bad gateway</html>", id="not JSON"),
        pytest.param("", id="empty"),
        pytest.param('{"json": {"services": [1, 2', id="cut off"),
        pytest.param('{"json": {"services": [1, 2}}', id="unbalanced"),
        pytest.param('{"json": {"services": [1 2]}}', id="no comma"),
        pytest.param('{"json": {"services": [1], "other": tru}}', id="a dropped member is bad"),
        pytest.param('{"json": {"services": {"a": 1}}}', id="a list that is an object"),
        pytest.param('{"json": {"services": null}}', id="a list that is null"),
        pytest.param('{"json": {"services": "[]"}}', id="a list that is a string"),
        pytest.param('{"error": {"message": "no"}}', id="no payload"),
        pytest.param('{"json": [{"services": []}]}', id="a payload that is not an object"),
        pytest.param('{"json": null}', id="a null payload"),
        pytest.param("[]", id="an envelope that is not an object"),
        pytest.param('{"json": {"services": [1]}} x', id="text after the answer"),
        pytest.param('{"json": {"services": [1]}}{}', id="a second answer"),
    ],
)
async def test_a_bad_answer_is_malformed(answer: str) -> None:
    for pieces in ([answer], list(answer)):
        with pytest.raises(Malformed):
            await _read(pieces)
    assert issubclass(Malformed, ValueError)


async def test_white_space_around_the_answer_is_allowed() -> None:
    assert await _read([" \n", '{"json": {"services": [1]}}', " \r\n\t"]) == [("services", 1)]
