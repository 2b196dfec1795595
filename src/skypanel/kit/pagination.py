"""Keyset pagination over (created_at, id): a page costs the same at row 10 and row 10 million.

A search pages the same way in the order of the text it matched: rows whose key starts with the
search, by (key, id), read from an index on (key COLLATE "C", id). Newest first would need every
match sorted, or a walk through the newest rows that finds none when the matches are old.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from skypanel.kit.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        at, last_id = datetime.fromisoformat(created), uuid.UUID(row_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput("Invalid cursor", field="cursor") from exc
    if at.tzinfo is None:
        raise InvalidInput("Invalid cursor", field="cursor")
    return at, last_id


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def newest_first(
    query: Q,
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Q:
    """Order newest first and start after the cursor; fetches one extra row to detect more.

    The cursor is a row comparison, which an index ending in (created_at, id) answers as a
    range: the 1,000th page reads as few entries as the first."""
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(created_at, row_id) < (at, last_id))
    return query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def page_of(rows: Sequence[Any], limit: int) -> tuple[list[Any], str | None]:
    """Split the `limit + 1` rows fetched by `newest_first` into a page and the next cursor."""
    return next_page(rows, limit, lambda last: encode_cursor(last.created_at, last.id))


def next_page(
    rows: Sequence[Any], limit: int, cursor_of: Callable[[Any], str]
) -> tuple[list[Any], str | None]:
    """The first `limit` of the `limit + 1` rows fetched, and the cursor after the last one."""
    items = list(rows[:limit])
    return items, cursor_of(items[-1]) if len(rows) > limit and items else None


MATCH = "match_key"
"""The label of the matched key `matching` adds to a query's columns."""
_LAST_CHARACTER = "\U0010ffff"


def searchable(expression: Any) -> ColumnElement[str]:
    """A column (or `lower(column)`) as the key of a search: compared byte by byte."""
    return expression.collate("C")  # type: ignore[no-any-return]


def starts_with(key: ColumnElement[str], search: str) -> ColumnElement[bool]:
    """`key` starts with `lower(search)`, as a range an index on `key` answers (with any plan:
    unlike `LIKE`, a bound parameter keeps the index)."""
    low = func.lower(literal(search))
    return and_(key >= low, key < low.concat(_LAST_CHARACTER).self_group())


def encode_match_cursor(key: str, row_id: uuid.UUID) -> str:
    raw = json.dumps(["match", key, str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_match_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, key, row_id = json.loads(raw)
        if kind != "match" or not isinstance(key, str):
            raise ValueError(kind)
        return key, uuid.UUID(row_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput("Invalid cursor", field="cursor") from exc


def matching(
    query: Select[*tuple[Any, ...]],
    key: ColumnElement[str],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    search: str,
    cursor: str | None,
    limit: int,
) -> Select[*tuple[Any, ...]]:
    """Rows whose `key` (from `searchable`) starts with `search`, in (key, id) order after the
    cursor, with the key as an extra column; fetches one extra row to detect more.

    The cursor repeats its key as a plain bound (`key >= after`) besides the row comparison,
    so that the index range starts at the cursor even when the key is another table's."""
    query = query.add_columns(key.label(MATCH)).where(starts_with(key, search))
    if cursor:
        after, last_id = decode_match_cursor(cursor)
        query = query.where(key >= after, tuple_(key, row_id) > (after, last_id))
    return query.order_by(key, row_id).limit(limit + 1)


Page = tuple[list[Any], str | None]
"""The rows of a page (each led by its table's entity) and the cursor of the next page."""


async def newest_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    query = newest_first(query, created_at, row_id, cursor=cursor, limit=limit)
    rows = (await session.execute(query)).all()
    return next_page(rows, limit, lambda last: encode_cursor(last[0].created_at, last[0].id))


async def match_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    keys: Sequence[ColumnElement[str]],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    search: str,
    cursor: str | None,
    limit: int,
) -> Page:
    """The rows of `query` one of whose `keys` starts with `search`, in the order of the key
    each matched by. With several keys, each is read from its own index (a row counts under
    the first key it matches) and the ids are joined back to `query`, which must not filter."""
    if len(keys) == 1:
        query = matching(query, keys[0], row_id, search=search, cursor=cursor, limit=limit)
    else:
        branches = []
        for n, key in enumerate(keys):
            branch = select(row_id).where(*(~starts_with(earlier, search) for earlier in keys[:n]))
            branches.append(
                matching(branch, key, row_id, search=search, cursor=cursor, limit=limit)
            )
        found = union_all(*branches).subquery()
        key = searchable(found.c[MATCH])
        query = (
            query.add_columns(key.label(MATCH))
            .join(found, found.c.id == row_id)
            .order_by(key, row_id)
            .limit(limit + 1)
        )
    rows = (await session.execute(query)).all()
    return next_page(
        rows, limit, lambda last: encode_match_cursor(last._mapping[MATCH], last[0].id)
    )
