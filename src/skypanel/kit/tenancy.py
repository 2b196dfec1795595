"""The one place that adds the organization filter to org-scoped queries."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def scoped(query: Q, model: type[Any], organization_id: uuid.UUID) -> Q:
    """`query` limited to rows of `model` that belong to the organization."""
    return query.where(model.organization_id == organization_id)
