"""Thousands of rows in one statement: each column sent as one array parameter, which the driver
encodes in C, and turned back into rows by PostgreSQL (`unnest`).

For batches (a billing run's renewals), where binding every value as a parameter of its own
costs more in Python than the database spends writing the rows. Rows are dicts keyed by the
model's attribute names, as for `insert(Model)`, all with the same keys; JSONB values are
encoded here (plain JSON data only; None is SQL NULL). Columns left out take their server
default, not the model's Python one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, Uuid, any_, inspect, literal, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

Model = type[DeclarativeBase]

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=64)
def _columns(model: Model) -> dict[str, tuple[str, str]]:
    """Each attribute's column name and array type (`metadata_` -> `metadata`, `JSONB[]`)."""
    found = {}
    for attr in inspect(model).column_attrs:
        column = attr.columns[0]
        kind = re.sub(r"\(.*?\)", "", column.type.compile(dialect=_DIALECT))
        found[attr.key] = (column.name, f"{kind}[]")
    return found


def _arrays(
    model: Model, rows: Sequence[dict[str, Any]]
) -> tuple[list[str], str, dict[str, list[Any]]]:
    """The column names, `unnest(...)` over one array parameter each, and the parameters."""
    columns = _columns(model)
    names, arrays, params = [], [], {}
    for index, key in enumerate(rows[0]):
        name, kind = columns[key]
        values = [row[key] for row in rows]
        if kind == "JSONB[]":
            values = [None if value is None else json.dumps(value) for value in values]
        names.append(f'"{name}"')
        arrays.append(f"CAST(:c{index} AS {kind})")
        params[f"c{index}"] = values
    return names, f"unnest({', '.join(arrays)}) AS r({', '.join(names)})", params


def _table(model: Model) -> str:
    table = model.__table__
    assert isinstance(table, Table)
    return f'"{table.name}"'


def _insert(model: Model, rows: Sequence[dict[str, Any]]) -> tuple[str, dict[str, list[Any]]]:
    names, source, params = _arrays(model, rows)
    listed = ", ".join(names)
    return f"INSERT INTO {_table(model)} ({listed}) SELECT {listed} FROM {source}", params


async def insert_rows(session: AsyncSession, model: Model, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` in one statement."""
    if rows:
        statement, params = _insert(model, rows)
        await session.execute(text(statement), params)


async def insert_new(
    session: AsyncSession, model: Model, rows: Sequence[dict[str, Any]], *, unique: Sequence[str]
) -> set[Any]:
    """Insert the rows whose `unique` columns hold values not taken yet (the first of equal
    ones); returns the `id`s of those inserted."""
    if not rows:
        return set()
    statement, params = _insert(model, rows)
    target = ", ".join(f'"{name}"' for name in unique)
    found = await session.execute(
        text(f"{statement} ON CONFLICT ({target}) DO NOTHING RETURNING id"), params
    )
    return set(found.scalars())


async def update_rows(session: AsyncSession, model: Model, rows: Sequence[dict[str, Any]]) -> None:
    """Update many rows by `id` in one statement: each row sets its other keys."""
    if not rows:
        return
    names, source, params = _arrays(model, rows)
    assignments = ", ".join(f"{name} = r.{name}" for name in names if name != '"id"')
    await session.execute(
        text(f"UPDATE {_table(model)} AS t SET {assignments} FROM {source} WHERE t.id = r.id"),
        params,
    )


def any_of(ids: Collection[uuid.UUID]) -> ColumnElement[Any]:
    """`column == any_of(ids)`: `= ANY` of the ids as one array parameter. A batch's thousand ids
    bound one by one (`IN`) cost more client CPU than the lookup itself, and the statement's text
    no longer depends on how many there are (one prepared statement)."""
    return any_(literal(list(ids), ARRAY(Uuid)))
