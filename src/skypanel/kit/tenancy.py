"""The one place that adds the organization filter to org-scoped queries."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def scoped(query: Q, model: type[Any], organization_id: uuid.UUID | ColumnElement[uuid.UUID]) -> Q:
    """`query` limited to rows of `model` that belong to the organization (its id, or the column
    that holds it in an enclosing statement)."""
    return query.where(model.organization_id == organization_id)
