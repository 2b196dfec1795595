"""A read answered cold before the framework (`skypanel.http.caching.CachedRead.cold`, and
`skypanel.http.fastpath.ColdView`): the caller's account, the membership it acts through and the
read of that organization in one statement, run on a pooled connection outside any transaction
(`skypanel.kit.db.driver_connection`), so the fast path makes one round trip (two when the
pooled connection has been idle and is checked first) where the full path makes seven (the
check, `BEGIN`, the account, the membership, the read's two, `COMMIT`).

The statement finds the membership as `skypanel.organizations.auth.org_context` does (the one
asked for, else the first by joining order) and the rule that decides stays the fast path's
(`skypanel.http.principals.refusal`); the read's rows come from the query the full path runs
(the same `Select`, or the same filter: `skypanel.services.service.named`), shaped by the same
code, so both answer with the same bytes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from asyncpg import Connection  # type: ignore[import-untyped]
from sqlalchemy import (
    ColumnElement,
    Select,
    Uuid,
    bindparam,
    inspect,
    select,
    true,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from skypanel.http.caching import Cold, ColdRead
from skypanel.models import Membership, Organization, User
from skypanel.organizations.repository import acting

T = TypeVar("T")
Model = TypeVar("Model")


@dataclass(frozen=True)
class Shown(Generic[Model]):
    """A model's columns in a cold statement, labelled with `prefix`, and the detached instance
    built back from a record of them (`skip`: columns never read, the password hash)."""

    model: type[Model]
    prefix: str
    skip: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> list[str]:
        return [a.key for a in inspect(self.model).column_attrs if a.key not in self.skip]

    def columns(self) -> list[Any]:
        return [getattr(self.model, n).expression.label(self.prefix + n) for n in self.fields]

    def built(self, record: Mapping[str, Any]) -> Model:
        return self.model(**{name: record[self.prefix + name] for name in self.fields})


_USER = Shown(User, "u_", skip=("password_hash",))
_ORGANIZATION = Shown(Organization, "o_")
_MEMBERSHIP = Shown(Membership, "m_")


def _statement(
    rows: Callable[[ColumnElement[uuid.UUID]], Select[Any]], order: Sequence[str], *, named: bool
) -> Select[Any]:
    """The statement for the organization asked for (`named`) or the first one, found as the
    full path finds it (`repository.acting`): two statements rather than one with `$n IS NULL
    OR ...`, so that PostgreSQL settles on a generic plan for each and stops planning it anew
    (half the time it took)."""
    users = User.__table__
    chosen = bindparam("organization_id", type_=Uuid) if named else None
    member = acting(select(*_ORGANIZATION.columns(), *_MEMBERSHIP.columns()), users.c.id, chosen)
    joined = member.lateral("member")
    read = rows(joined.c[_ORGANIZATION.prefix + "id"]).lateral("read")
    return (
        select(*_USER.columns(), *joined.c, *read.c)
        .select_from(users.outerjoin(joined, true()).outerjoin(read, true()))
        .where(users.c.id == bindparam("user_id", type_=Uuid))
        .order_by(*(read.c[name] for name in order))
    )


def _compiled(statement: Select[Any]) -> tuple[str, tuple[str, ...]]:
    """The statement as asyncpg takes it, and the names of its parameters in order."""
    compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    return str(compiled), tuple(compiled.positiontup or ())


def cold_read(
    rows: Callable[[ColumnElement[uuid.UUID]], Select[Any]],
    shape: Callable[[Sequence[Any]], T],
    *,
    order: Sequence[str],
) -> ColdRead[T]:
    """The cold read of `rows(organization id)`, ordered by its columns `order` (a lateral
    subquery keeps no order of its own; the first is never null in a row) and turned into the
    answer by `shape`, which gets the rows as mappings, none when the organization has none.
    `rows` may name parameters of its own (`bindparam`): the read is given them by name (a
    view's path parameters)."""
    first, named = (_compiled(_statement(rows, order, named=n)) for n in (False, True))
    marker = order[0]

    async def read(
        connection: Connection,
        user_id: uuid.UUID,
        organization_id: uuid.UUID | None,
        params: Mapping[str, str] | None = None,
    ) -> Cold[T]:
        sql, names = first if organization_id is None else named
        given = {**(params or {}), "user_id": user_id, "organization_id": organization_id}
        records = await connection.fetch(sql, *(given[n] for n in names))
        if not records:
            return Cold(None, None, None)
        first_row = records[0]
        user = _USER.built(first_row)
        if first_row[_MEMBERSHIP.prefix + "id"] is None:
            return Cold(user, None, None)
        found = (_ORGANIZATION.built(first_row), _MEMBERSHIP.built(first_row))
        return Cold(user, found, shape([r for r in records if r[marker] is not None]))

    return read
